// Admin: every VM, filtered by owner, host, state and image; anyone's VM terminated with a reason.

import { useId, useState } from "react";
import { VM_STATES } from "../../../../src/core/vm-state.ts";
import type { VmFilter } from "../../api/vms.ts";
import type { MeWithLimits } from "../../api/me.ts";
import { Empty, ErrorNote, Loading, PageTitle } from "../../components/ui.tsx";
import { TerminateButton } from "../../components/vm.tsx";
import { VmTable } from "../../components/VmTable.tsx";
import { useHosts, useImages } from "../../queries/catalog.ts";
import { useVmPages } from "../../queries/vms.ts";
import { AdminTabs } from "./AdminOnly.tsx";

export function AdminVmsPage({ me }: { me: MeWithLimits }) {
  const [owner, setOwner] = useState("");
  const [filter, setFilter] = useState<VmFilter>({ all: true });
  const vms = useVmPages(filter);
  const hosts = useHosts();
  const images = useImages();
  const ids = { owner: useId(), host: useId(), state: useId(), image: useId() };
  const set = (patch: Partial<VmFilter>) => setFilter((f) => ({ ...f, ...patch }));
  const items = vms.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <PageTitle title="Admin">All VMs</PageTitle>
      <AdminTabs />
      <form
        className="filters"
        role="search"
        aria-label="Filter the VMs"
        onSubmit={(e) => {
          e.preventDefault();
          set({ owner: owner.trim() });
        }}
      >
        <div className="field">
          <label htmlFor={ids.owner}>Owner</label>
          <input id={ids.owner} value={owner} onChange={(e) => setOwner(e.target.value)} onBlur={() => set({ owner: owner.trim() })} placeholder="any" />
        </div>
        <div className="field">
          <label htmlFor={ids.host}>Host</label>
          <select id={ids.host} value={filter.host ?? ""} onChange={(e) => set({ host: e.target.value })}>
            <option value="">any</option>
            {hosts.data?.items.map((h) => (
              <option key={h.name}>{h.name}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.state}>State</label>
          <select id={ids.state} value={filter.state ?? ""} onChange={(e) => set({ state: e.target.value === "" ? undefined : e.target.value })}>
            <option value="">any but terminated</option>
            {VM_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.image}>Image</label>
          <select id={ids.image} value={filter.image ?? ""} onChange={(e) => set({ image: e.target.value })}>
            <option value="">any</option>
            {images.data?.items.map((i) => (
              <option key={i.tag} value={i.tag}>
                {i.name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="small">
          Filter
        </button>
      </form>
      {vms.isPending && <Loading what="the VMs" />}
      <ErrorNote error={vms.error} what="The VMs could not be read" />
      {vms.data && items.length === 0 && <Empty title="No VM matches.">{filter.owner || filter.host || filter.state || filter.image ? <p>Change the filters above.</p> : <p>No one has a VM yet.</p>}</Empty>}
      {items.length > 0 && <VmTable vms={items} caption="All VMs" owner actions={(vm) => <TerminateButton vm={vm} me={me} />} />}
      {vms.hasNextPage && (
        <button type="button" onClick={() => void vms.fetchNextPage()} disabled={vms.isFetchingNextPage}>
          {vms.isFetchingNextPage ? "Loading…" : "Show more"}
        </button>
      )}
    </>
  );
}

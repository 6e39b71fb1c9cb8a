// My VMs: the caller's VMs, live.

import { Link } from "wouter";
import type { MeWithLimits } from "../api/me.ts";
import { Empty, ErrorNote, Loading, PageTitle } from "../components/ui.tsx";
import { VmTable } from "../components/VmTable.tsx";
import { useVms } from "../queries/vms.ts";

export function VmsPage({ me }: { me: MeWithLimits }) {
  const vms = useVms({});
  const q = me.quota;
  return (
    <>
      <PageTitle title="My VMs">My VMs</PageTitle>
      <p className="muted">
        {q.used} VM{q.used === 1 ? "" : "s"}
        {q.maxVms === null ? "" : ` of your ${q.maxVms}`}
        {me.sshKeys.length === 0 && (
          <>
            {" "}
            · You have no ssh key yet: <Link href="/keys">add one</Link> to log in to your VMs.
          </>
        )}
      </p>
      {vms.isPending && <Loading what="your VMs" />}
      <ErrorNote error={vms.error} what="Your VMs could not be read" />
      {vms.data && vms.data.items.length === 0 && (
        <Empty title="You have no VMs.">
          <p>
            <Link href="/deploy">Start your first VM</Link>: it is ready for ssh in seconds.
          </p>
        </Empty>
      )}
      {vms.data && vms.data.items.length > 0 && <VmTable vms={vms.data.items} caption="My VMs" />}
    </>
  );
}

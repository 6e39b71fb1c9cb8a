// What a VM shows and offers wherever it appears: how to connect, Start, Reboot and Stop, Terminate
// (asking first, with a reason when an admin ends someone else's VM) and Extend (only as far as the
// policy allows).

import { useId, useState } from "react";
import type { Vm } from "../../../src/core/api.ts";
import { sshCommandLine } from "../../../src/core/vm-words.ts";
import { canExtend, canTerminate, connectLater, extendChoices, formatHours, type Limits, POWER_LABELS, powerActions, powerProgress, preferredExtension, reasonRequired } from "../../../src/portal/rules.ts";
import type { MeWithLimits } from "../api/me.ts";
import { useImages } from "../queries/catalog.ts";
import { useExtend, usePower, useTerminate } from "../queries/vms.ts";
import { ConfirmDialog } from "./ConfirmDialog.tsx";
import { CopyButton, ErrorNote } from "./ui.tsx";

/** An image by its display name (its tag on hover), or its tag when the catalog no longer has it. */
export function ImageName({ tag }: { tag: string }) {
  const images = useImages();
  const name = images.data?.items.find((i) => i.tag === tag)?.name;
  return name === undefined ? <>{tag}</> : <span title={tag}>{name}</span>;
}

export function ConnectLine({ vm, full = false }: { vm: Vm; full?: boolean }) {
  const line = sshCommandLine(vm);
  if (vm.state !== "running" || line === null) return <span className="muted">{connectLater(vm.state)}</span>;
  return (
    <div className="connect">
      <span className="connect-line">
        <code>{line}</code>
        <CopyButton text={line} label={`Copy the ssh line of ${vm.name}`} />
      </span>
      {full && (
        <>
          <p className="muted">
            or, with the vgrid command line: <code>vgrid ssh {vm.name}</code>
          </p>
          {vm.sshHostKeys.length > 0 ? (
            <>
              <p className="muted fingerprints-title">The guest's host keys (what ssh shows on the first connection):</p>
              <ul className="fingerprints">
                {vm.sshHostKeys.map((k) => (
                  <li key={k.fingerprint}>
                    <code>
                      {k.type} {k.fingerprint}
                    </code>
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p className="muted">Its host key fingerprints appear here once the guest has booted.</p>
          )}
        </>
      )}
    </div>
  );
}

export function TerminateButton({ vm, me, onDone }: { vm: Vm; me: MeWithLimits; onDone?: () => void }) {
  const [open, setOpen] = useState(false);
  const terminate = useTerminate();
  if (!canTerminate(vm)) return null;
  const others = reasonRequired(me, vm);
  return (
    <>
      <button type="button" className="danger" onClick={() => setOpen(true)} disabled={terminate.isPending}>
        Terminate
      </button>
      <ConfirmDialog
        open={open}
        title={`Terminate ${vm.name}?`}
        confirm="Terminate"
        busy={terminate.isPending}
        {...(others ? { reasonLabel: "Reason" } : {})}
        onCancel={() => setOpen(false)}
        onConfirm={(reason) =>
          terminate.mutate(
            { id: vm.id, ...(others ? { reason } : {}) },
            {
              onSuccess: () => {
                setOpen(false);
                onDone?.();
              },
            },
          )
        }
      >
        <p>
          {others ? `${vm.name} belongs to ${vm.owner}. ` : ""}It is shut down and its disks are deleted: what is on it is lost. This cannot be undone.
        </p>
        {others && <p>{vm.owner} sees your name and the reason you give.</p>}
        <ErrorNote error={terminate.error} what="Not terminated" />
      </ConfirmDialog>
      {!open && <ErrorNote error={terminate.error} what="Not terminated" />}
    </>
  );
}

/**
 * Start, Reboot and Stop, as the VM's state allows them; while its node works (the request on its
 * way, then the VM's transition) the buttons give way to what is happening.
 */
export function PowerButtons({ vm }: { vm: Vm }) {
  const power = usePower();
  const actions = powerActions(vm);
  const progress = power.isPending ? POWER_LABELS[power.variables.action].busy : powerProgress(vm);
  return (
    <div className="inline-form">
      {actions.map((action) => (
        <button key={action} type="button" onClick={() => power.mutate({ id: vm.id, action })} disabled={power.isPending}>
          {POWER_LABELS[action].name}
        </button>
      ))}
      {progress !== null && (
        <p className="muted" role="status">
          <span className="spinner" aria-hidden="true" /> {progress}
        </p>
      )}
      <ErrorNote error={power.error} what="Not done" />
    </div>
  );
}

export function ExtendControl({ vm, limits }: { vm: Vm; limits: Limits }) {
  const extend = useExtend();
  const choices = extendChoices(vm, limits, new Date());
  const preferred = preferredExtension(choices, limits);
  const refused = choices.find((c) => c.disabled !== null);
  const [hours, setHours] = useState<number | undefined>(undefined);
  const id = useId();
  if (!canExtend(vm)) return null;
  const chosen = hours ?? preferred;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (chosen !== undefined) extend.mutate({ id: vm.id, hours: chosen });
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        Extend by
      </label>
      <select id={id} value={chosen ?? ""} onChange={(e) => setHours(Number(e.target.value))} disabled={preferred === undefined} aria-describedby={`${id}-why`}>
        {choices.map((c) => (
          <option key={c.value} value={c.value} disabled={c.disabled !== null}>
            {c.label}
            {c.disabled ? " (too far)" : ""}
          </option>
        ))}
      </select>
      <button type="submit" disabled={preferred === undefined || extend.isPending}>
        {extend.isPending ? "Extending…" : "Extend"}
      </button>
      <p id={`${id}-why`} className="muted">
        {preferred === undefined
          ? `It already lives as long as the policy allows: ${formatHours(limits.maxHours)} from now.`
          : refused
            ? `Longer is not allowed: ${refused.disabled}.`
            : ""}
      </p>
      {extend.isSuccess && (
        <p className="ok-text" role="status">
          Extended.
        </p>
      )}
      <ErrorNote error={extend.error} what="Not extended" />
    </form>
  );
}

// Power: stop, start and reboot a VM (POST /vms/{id}/stop, /start, /reboot). Each is one transaction
// with its audit row and its history row; the node is told through its desired state (stopped, running,
// a numbered reboot) and confirms in its reports. powerOnVm and powerOffVm work inside a transaction of
// the caller's, for the policy pass (an expired VM stopped for its grace, started again when extended).

import type { PowerRequest, Vm } from "../../core/api.js";
import { Conflict, Invalid } from "../../core/errors.js";
import { canPower, stateAfterPower, type PowerAction, type VmState } from "../../core/vm-state.js";
import type { ServerContext } from "../context.js";
import type { DbOrTx } from "../store/db.js";
import { bumpDesiredVersion } from "../store/hosts.js";
import { recordHistory } from "../store/vm-history.js";
import { lockVm, movePower } from "../store/vms.js";
import { change, visibleVm, type Actor } from "./service.js";

const AUDIT_ACTIONS: Readonly<Record<PowerAction, string>> = { stop: "vm.stop", start: "vm.start", reboot: "vm.reboot" };

/** Stops the VM, its disk, slot and hostname kept: its node stops QEMU (ACPI, then forced; at once with force). */
export function stopVm(ctx: ServerContext, actor: Actor, id: string, request: PowerRequest | null): Promise<Vm> {
  return power(ctx, actor, id, "stop", request?.force === true);
}

/** Boots a stopped VM again from its own disk. */
export function startVm(ctx: ServerContext, actor: Actor, id: string, request: PowerRequest | null): Promise<Vm> {
  if (request?.force === true) throw new Invalid("force", "a start has nothing to force: leave force out (it means something for stop and reboot)");
  return power(ctx, actor, id, "start", false);
}

/** Reboots a running VM: its guest is asked first (a stop, then a boot), or reset at once with force. */
export function rebootVm(ctx: ServerContext, actor: Actor, id: string, request: PowerRequest | null): Promise<Vm> {
  return power(ctx, actor, id, "reboot", request?.force === true);
}

async function power(ctx: ServerContext, actor: Actor, id: string, action: PowerAction, force: boolean): Promise<Vm> {
  const vm = await visibleVm(ctx.db, actor.user, id);
  if (!canPower(action, vm.state)) throw wrongState(action, vm);
  return change(ctx, actor, AUDIT_ACTIONS[action], async (tx, now) => {
    // Checked again on the locked row: a VM that moved meanwhile (terminated, failed) is refused, not moved.
    const life = await lockVm(tx, vm.id);
    if (life === undefined || !canPower(action, life.state)) throw wrongState(action, { ...vm, state: life?.state ?? vm.state });
    const to = stateAfterPower(action);
    const also = action === "stop" ? { forceStop: force } : action === "reboot" ? { reboot: { force } } : {};
    await movePower(tx, vm.id, [life.state], to, now, also);
    await bumpDesiredVersion(tx, life.host);
    const detail = stepDetail(action, force);
    return { vmId: vm.id, host: life.host, step: { state: to, detail }, auditDetail: force ? "force" : null };
  });
}

function stepDetail(action: PowerAction, force: boolean): string {
  switch (action) {
    case "stop":
      return force ? "stopped at once (forced), its disk kept" : "stopped: its guest asked to power down, its disk kept";
    case "start":
      return "started again from its own disk";
    case "reboot":
      return force ? "reset asked (forced reboot)" : "reboot asked";
  }
}

/** The 409 of an action the VM's state does not allow: naming the state, and what to do instead. */
function wrongState(action: PowerAction, vm: Pick<Vm, "name" | "state" | "id">): Conflict {
  const { name, state } = vm;
  const whatToDo = ((): string => {
    switch (state) {
      case "stopped":
        return action === "stop" ? "it is stopped already" : `start it first (POST /api/v1/vms/${vm.id}/start, or vgrid start ${name})`;
      case "expired":
        return `it is stopped for its grace period: extend it to start it again (vgrid extend ${name} --hours H)`;
      case "failed":
        return "terminate it (its reason is in the VM's error) and deploy again";
      case "terminating":
      case "terminated":
        return "it is being or has been terminated";
      case "pending":
      case "provisioning":
        return action === "start" ? "it is starting already" : "it is still starting: wait until it runs, then reboot it";
      case "running":
        return action === "start" ? `it runs already (to boot it anew, reboot it: vgrid reboot ${name})` : "it runs";
    }
  })();
  return new Conflict("wrong-state", `VM ${name} is ${state}; it cannot be ${PAST[action]}: ${whatToDo}`);
}

const PAST: Readonly<Record<PowerAction, string>> = { stop: "stopped", start: "started", reboot: "rebooted" };

/** Who and why, for a power change made inside a caller's transaction. */
export interface PowerStep {
  /** A username, or `policy:...`. */
  by: string;
  at: Date;
  /** The history row's words; a default says what happened. */
  detail?: string;
}

/**
 * Starts a stopped or expired VM again from its own disk (to provisioning), inside the caller's
 * transaction, with its history row: what extending an expired VM does. Returns the host whose node
 * must hear of it (the caller calls ctx.hub.notifyHost(host) once its transaction has committed, and
 * publishes the VM), or undefined when the VM was in neither state (nothing done).
 */
export async function powerOnVm(tx: DbOrTx, id: string, step: PowerStep): Promise<{ host: string } | undefined> {
  return movePowerIn(tx, id, ["stopped", "expired"], "provisioning", step, "started again from its own disk");
}

/**
 * Stops a VM that runs or boots (or is stopped: `expired` then), keeping its disk, slot and hostname,
 * inside the caller's transaction, with its history row: `to` is `expired` for the grace period.
 * Returns the host to notify after the commit, or undefined when the VM could not move so.
 */
export async function powerOffVm(tx: DbOrTx, id: string, to: "stopped" | "expired", step: PowerStep): Promise<{ host: string } | undefined> {
  const from: VmState[] = to === "expired" ? ["pending", "provisioning", "running", "stopped"] : ["pending", "provisioning", "running"];
  return movePowerIn(tx, id, from, to, step, to === "expired" ? "expired: stopped for its grace period, its disk kept" : "stopped, its disk kept");
}

async function movePowerIn(
  tx: DbOrTx,
  id: string,
  from: readonly VmState[],
  to: VmState,
  step: PowerStep,
  words: string,
): Promise<{ host: string } | undefined> {
  const life = await lockVm(tx, id);
  if (life === undefined || !from.includes(life.state)) return undefined;
  await movePower(tx, id, [life.state], to, step.at, to === "provisioning" ? {} : { forceStop: false });
  await bumpDesiredVersion(tx, life.host);
  await recordHistory(tx, [{ vmId: id, at: step.at, state: to, by: step.by, detail: step.detail ?? words }]);
  return { host: life.host };
}

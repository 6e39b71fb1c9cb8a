// What the agent does next for one VM: a pure function of what the server wants, what the driver sees
// and what this agent last reported. The agent carries the action out (agent.ts); every case is a
// row of decide.test.ts.

import type { DesiredState, ReportedState } from "../core/vm-state.js";
import type { BootMode, VmObservation } from "./drivers/driver.js";

export const NOT_LOOKED = "not-looked";

export interface VmSituation {
  desired: DesiredState;
  /** This agent's last report of the VM in this run; undefined until it has made one. */
  reported: ReportedState | undefined;
  /** The agent has stopped the VM since the server asked for `stopped`. */
  isStopped: boolean;
  /** What the driver sees: undefined when the node has nothing of the VM; NOT_LOOKED before asking. */
  seen: VmObservation | undefined | typeof NOT_LOOKED;
  /** The boot mode the VM's image needs when the driver cannot boot it so; null when it can. */
  unsupportedBoot: BootMode | null;
  /** A reboot the server asked for that this node has not carried out yet; null when none. */
  rebootDue?: { force: boolean } | null;
}

export type Action =
  /** Nothing to do: the VM is as the server wants it, or only the server can move it on. */
  | { kind: "none" }
  /** Ask the driver what is there, then decide again. */
  | { kind: "look" }
  /** It runs: report it running (after an agent restart, without starting a second process). */
  | { kind: "adopt"; seen: VmObservation }
  /** Its process is up but cannot say it runs: neither fail it nor start another; ask again later. */
  | { kind: "wait"; seen: VmObservation }
  | { kind: "create-and-start" }
  /** A failed VM holds its slot and hostname until terminated: stop it, keep its files (its logs). */
  | { kind: "stop-keep-files" }
  | { kind: "destroy" }
  /** It runs and its owner asked for a reboot: a reset (force), or a stop that asks the guest, then a boot. */
  | { kind: "reboot"; force: boolean }
  /**
   * This run saw it run, and now its process is gone or its guest ended: the agent fails it, or boots
   * it again when its image says restartOnCrash (within a bound).
   */
  | { kind: "crashed"; error: string; detail: string | null }
  | { kind: "report-failed"; error: string; detail: string | null };

export function decide(s: VmSituation): Action {
  switch (s.desired) {
    case "terminated":
      return s.reported === "terminated" ? { kind: "none" } : { kind: "destroy" };
    case "stopped":
      return s.isStopped ? { kind: "none" } : { kind: "stop-keep-files" };
    case "running":
      return decideRunning(s);
  }
}

function decideRunning(s: VmSituation): Action {
  // A failure is final: the server answers it with `stopped`, and the owner terminates.
  if (s.reported === "failed") return { kind: "none" };
  if (s.seen === NOT_LOOKED) return { kind: "look" };
  const { seen } = s;
  if (seen?.state === "running") return s.rebootDue ? { kind: "reboot", force: s.rebootDue.force } : { kind: "adopt", seen };
  if (seen?.state === "unknown") return { kind: "wait", seen };
  // Gone, halted, or nothing on the node. Having reported it running, this run saw it die: only a
  // process that is gone, or a guest that ended for good, fails a VM. Otherwise it was never started
  // here, or stopped (Ctrl-C on `vgrid up`): boot it (again).
  if (s.reported === "running") {
    if (seen === undefined) return { kind: "report-failed", error: "the VM's files are gone from the node", detail: null };
    return { kind: "crashed", error: seen.error ?? "the VM stopped unexpectedly", detail: seen.detail };
  }
  if (s.unsupportedBoot !== null) {
    return {
      kind: "report-failed",
      error: `this node cannot boot the image (its hypervisor does not boot ${s.unsupportedBoot === "direct" ? "a kernel directly" : "from a disk"}): an administrator must place the image on another node`,
      detail: `the node's driver does not support boot mode '${s.unsupportedBoot}'`,
    };
  }
  return { kind: "create-and-start" };
}

/** Whether the VM is as the server wants it, as far as the agent can make it (a failure is final). */
export function isSettled(s: Pick<VmSituation, "desired" | "reported" | "isStopped" | "rebootDue">): boolean {
  switch (s.desired) {
    case "running":
      return (s.reported === "running" && !s.rebootDue) || s.reported === "failed";
    case "stopped":
      return s.isStopped;
    case "terminated":
      return s.reported === "terminated";
  }
}

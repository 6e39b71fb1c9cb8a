// The VM state machine, in one place: the states of the vm object, which of them hold a host slot and a
// hostname, which are final, the transitions allowed, what a node must make of a VM in each state, and
// how a node's report moves a VM along, and which power actions (stop, start, reboot) each state
// allows. Pure and typed; the server, the node and the portal all follow it.

/** The states of API.md's vm object, in the order a VM goes through them. */
export const VM_STATES = ["pending", "provisioning", "running", "stopped", "expired", "terminating", "terminated", "failed"] as const;
export type VmState = (typeof VM_STATES)[number];

/**
 * What a node reports of a VM: its own view, which the server folds into the VM's state. `stopped`: its
 * QEMU is stopped (by the node, as the server asked) and its files are kept; it never moves a VM by
 * itself, it confirms a stop the server decided, so a stopped VM is never taken for a failed or gone one.
 */
export const REPORTED_STATES = ["provisioning", "running", "stopped", "terminated", "failed"] as const;
export type ReportedState = (typeof REPORTED_STATES)[number];

/**
 * What the server asks a node to make of a VM:
 * - running: make it run.
 * - stopped: stop it but keep its files (its disk; a failed VM's console and QEMU logs) while it holds its slot.
 * - terminated: stop it and delete every file of it.
 */
export const DESIRED_STATES = ["running", "stopped", "terminated"] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

interface StateRules {
  /** Holds its host slot, its hostname and its share of its owner's quota. */
  holdsSlot: boolean;
  /** Nothing moves it any more. */
  final: boolean;
  /** What the node should make of it; undefined: the node is not told of it at all. */
  desired: DesiredState | undefined;
  /** The states it may move to, by anyone's action (an owner, an admin, a policy, a node's report). */
  next: readonly VmState[];
  /**
   * The reported states a node's report moves it to (each also in `next`). A stopped or expired VM is
   * moved only by an action (start, extend, terminate): a report the node sent before it heard of the
   * stop (still running, or booting) must not bring it back.
   */
  byNode: readonly ReportedState[];
  /** Its guest is meant to be up: `responding: false` is news (liveness mail), not what its owner asked. */
  shouldRespond: boolean;
}

const RULES: Readonly<Record<VmState, StateRules>> = {
  pending: {
    holdsSlot: true, final: false, desired: "running", shouldRespond: true,
    next: ["provisioning", "running", "failed", "stopped", "expired", "terminating"], byNode: ["provisioning", "running", "failed"],
  },
  // A node that finds a VM gone (QEMU stopped by Ctrl-C on `vgrid up`) boots it again: running to
  // provisioning. Start moves a stopped VM to provisioning too: its node boots it from its own disk.
  provisioning: {
    holdsSlot: true, final: false, desired: "running", shouldRespond: true,
    next: ["running", "failed", "stopped", "expired", "terminating"], byNode: ["running", "failed"],
  },
  running: {
    holdsSlot: true, final: false, desired: "running", shouldRespond: true,
    next: ["provisioning", "failed", "stopped", "expired", "terminating"], byNode: ["provisioning", "failed"],
  },
  // Stopped by its owner or an admin: its node stops QEMU (ACPI, then forced) and keeps its files.
  stopped: { holdsSlot: true, final: false, desired: "stopped", shouldRespond: false, next: ["provisioning", "expired", "terminating"], byNode: [] },
  // Past its expiry, inside the grace period: stopped as above; extending it starts it (provisioning).
  expired: { holdsSlot: true, final: false, desired: "stopped", shouldRespond: false, next: ["provisioning", "terminating"], byNode: [] },
  // A failed VM keeps its slot, hostname and files (its logs) until its owner terminates it.
  failed: { holdsSlot: true, final: false, desired: "stopped", shouldRespond: false, next: ["expired", "terminating"], byNode: [] },
  terminating: { holdsSlot: true, final: false, desired: "terminated", shouldRespond: false, next: ["terminated"], byNode: ["terminated"] },
  // Only once the node has stopped and reaped QEMU and deleted the disks: then the hostname is free.
  terminated: { holdsSlot: false, final: true, desired: undefined, shouldRespond: false, next: [], byNode: [] },
};

/** States in which a VM still holds its host slot and its hostname. */
export const HOLDING_STATES: readonly VmState[] = VM_STATES.filter((s) => RULES[s].holdsSlot);

export function isVmState(text: string): text is VmState {
  return (VM_STATES as readonly string[]).includes(text);
}

export function holdsSlot(state: VmState): boolean {
  return RULES[state].holdsSlot;
}

export function isFinal(state: VmState): boolean {
  return RULES[state].final;
}

export function canMove(from: VmState, to: VmState): boolean {
  return RULES[from].next.includes(to);
}

/** What the node should make of a VM in this state; undefined: not listed to the node. */
export function desiredOf(state: VmState): DesiredState | undefined {
  return RULES[state].desired;
}

/** Whether an owner (or admin) may still extend the VM's life. */
export function canExtend(state: VmState): boolean {
  return !isFinal(state) && state !== "terminating";
}

/**
 * Whether the VM's guest is meant to answer: a VM stopped (or expired) by its owner, an admin or the
 * policy is not "not responding", and no liveness alarm is raised for it; nor for one failed or going.
 */
export function shouldRespond(state: VmState): boolean {
  return RULES[state].shouldRespond;
}

/** States in which the node keeps the VM stopped, its disk kept, until someone starts (or extends) it. */
export const POWERED_OFF_STATES: readonly VmState[] = ["stopped", "expired"];

/** Whether the VM is stopped with its disk kept (`stopped` or `expired`): what start boots again. */
export function isPoweredOff(state: VmState): boolean {
  return POWERED_OFF_STATES.includes(state);
}

/**
 * The VM's state once a node's report is applied: the reported state when the table lets a report make
 * that move, else the state it has. So the owner's wish (stop, terminate) always wins; a VM the node
 * does not have yet ("terminated" for a VM that should run) is created again on the next pass, not
 * moved here; a report of `stopped` only confirms a stop; failed and terminated stay until the owner acts.
 */
export function nextState(current: VmState, reported: ReportedState): VmState {
  return RULES[current].byNode.includes(reported) ? reported : current;
}

/** What an owner or admin may ask of a VM's power (POST /vms/{id}/stop, /start, /reboot). */
export const POWER_ACTIONS = ["stop", "start", "reboot"] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

/**
 * The states each power action may be asked in: a VM that runs or boots may be stopped; only a
 * stopped one started (an expired one is started by extending it, which moves its expiry too); only a
 * running one rebooted.
 */
const POWER_FROM: Readonly<Record<PowerAction, readonly VmState[]>> = {
  stop: ["pending", "provisioning", "running"],
  start: ["stopped"],
  reboot: ["running"],
};

export function canPower(action: PowerAction, state: VmState): boolean {
  return POWER_FROM[action].includes(state);
}

/** The state a power action leaves the VM in (a reboot leaves it running, its node resetting it). */
export function stateAfterPower(action: PowerAction): VmState {
  return action === "stop" ? "stopped" : action === "start" ? "provisioning" : "running";
}

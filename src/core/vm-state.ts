// The VM state machine, in one place: the states of the vm object, which of them hold a host slot and a
// hostname, which are final, the transitions allowed, what a node must make of a VM in each state, and
// how a node's report moves a VM along. Pure and typed; the server and the node both follow it.

/** The states of API.md's vm object that vgrid has today (`stopped` comes with the power actions), in the order a VM goes through them. */
export const VM_STATES = ["pending", "provisioning", "running", "expired", "terminating", "terminated", "failed"] as const;
export type VmState = (typeof VM_STATES)[number];

/** What a node reports of a VM: its own view, which the server folds into the VM's state. */
export const REPORTED_STATES = ["provisioning", "running", "terminated", "failed"] as const;
export type ReportedState = (typeof REPORTED_STATES)[number];

/**
 * What the server asks a node to make of a VM:
 * - running: make it run.
 * - stopped: stop it but keep its files (a failed VM's console and QEMU logs) while it holds its slot.
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
  /** The states it may move to. */
  next: readonly VmState[];
}

const RULES: Readonly<Record<VmState, StateRules>> = {
  pending: { holdsSlot: true, final: false, desired: "running", next: ["provisioning", "running", "failed", "terminating"] },
  // A node that finds a VM gone (QEMU stopped by Ctrl-C on `vgrid up`) boots it again: running to provisioning.
  provisioning: { holdsSlot: true, final: false, desired: "running", next: ["running", "failed", "terminating"] },
  running: { holdsSlot: true, final: false, desired: "running", next: ["provisioning", "failed", "terminating"] },
  // Past its expiry, inside the grace period ([expiry] graceHours): stopped, its disk, slot, hostname and
  // quota share kept; extending it starts it again (policies/power-stand-in.ts moves it back, not a report).
  // The power actions' branch brings `stopped` beside it: when it lands, expired follows its rules.
  expired: { holdsSlot: true, final: false, desired: "stopped", next: ["terminating"] },
  // A failed VM keeps its slot, hostname and files (its logs) until its owner terminates it.
  failed: { holdsSlot: true, final: false, desired: "stopped", next: ["terminating"] },
  terminating: { holdsSlot: true, final: false, desired: "terminated", next: ["terminated"] },
  // Only once the node has stopped and reaped QEMU and deleted the disks: then the hostname is free.
  terminated: { holdsSlot: false, final: true, desired: undefined, next: [] },
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
 * The VM's state once a node's report is applied: the reported state when the table allows the move,
 * else the state it has. So the owner's wish (terminate) always wins; a VM the node does not have yet
 * ("terminated" for a VM that should run) is created again on the next pass, not moved here; failed
 * and terminated stay until the owner acts.
 */
export function nextState(current: VmState, reported: ReportedState): VmState {
  return canMove(current, reported) ? reported : current;
}

// The hypervisor driver interface: the agent knows only these verbs, their contract (below) and what
// the driver declares it supports. Modelled on lima's pkg/driver/driver.go.

import type { ConsolePlace, VmSpec } from "../../core/protocol.js";
import type { ConsoleRead } from "./console.js";

/**
 * What the hypervisor says of a VM, as far as it can tell:
 * - `running`: its process is up and the hypervisor says the VM runs (QMP `running`).
 * - `unknown`: its process is up but the hypervisor cannot say the VM runs: it does not answer in
 *   time (a busy node) or says the VM is paused, which may pass. Never a reason to fail the VM or to
 *   start another process for it: ask again later.
 * - `halted`: its process is up but the guest ended for good (shut down, panicked, internal error).
 * - `gone`: no process runs it (never started, stopped, or died; `error` says how when known).
 */
export type VmCondition = "running" | "unknown" | "halted" | "gone";

/** What a driver sees of one VM on this node. */
export interface VmObservation {
  id: string;
  state: VmCondition;
  /**
   * The guest's own address, when this node can reach it there (a guest on a bridge). Null under
   * QEMU user networking: the guest's 10.0.2.15 is private to its QEMU, only `sshPort` reaches it.
   */
  address: string | null;
  /** The port on this node forwarded to the guest's ssh (user networking), or null. */
  sshPort: number | null;
  /** Why the VM is not running, in words its owner can act on; null when there is nothing to say. */
  error: string | null;
  /** What the driver saw, for admins and the node's log: PIDs, paths, QEMU's own words. */
  detail: string | null;
}

/** How an image boots: `direct` (kernel, initrd and command line beside the disk) or `disk` (its own bootloader). */
export type BootMode = "direct" | "disk";
/** `user`: no root, no bridge, a forwarded ssh port per VM; `bridge`: a tap on an existing bridge. */
export type NetworkMode = "user" | "bridge";

/** What a driver can do, declared once, so that the agent refuses what a driver cannot do in words. */
export interface DriverCapabilities {
  bootModes: readonly BootMode[];
  networkModes: readonly NetworkMode[];
  /** Whether the driver keeps the guest's serial console (what it wrote, for the owner and admins). */
  serialConsole: boolean;
}

/**
 * A verb's failure in two voices: `message` is for the VM's owner (what happened, who can act);
 * `detail` is for admins and the node's log (paths, command lines, QEMU's stderr).
 */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly detail: string | null = null,
  ) {
    super(message);
  }
}

/** The admins' words of a failure: its `detail` when it has one, else its message. */
export function detailOf(err: unknown): string {
  if (typeof err === "object" && err !== null && "detail" in err && typeof err.detail === "string") return err.detail;
  return err instanceof Error ? err.message : String(err);
}

/** How to stop: `force` ends the VM at once (QMP quit), without asking its guest to power down. */
export interface StopOptions {
  force?: boolean;
}

/**
 * A hypervisor driver. The contract of every verb:
 * - Idempotent: the agent calls it again after any failure or crash; a verb that finds its work
 *   already done returns quietly.
 * - One verb at a time per VM: the driver serialises the verbs of one VM (a start never races a
 *   destroy); verbs of different VMs may run side by side.
 * - Cancellable: when `signal` aborts, the verb stops waiting on what it waits for (a hung QMP or
 *   virsh, a slow disk tool) and rejects with the signal's reason soon, leaving nothing that a later
 *   call cannot repair. A verb never waits without a bound, aborted or not.
 * - A verb that fails rejects with an Error whose message the VM's owner reads: technical words go
 *   in a DriverError's `detail`, never in its message.
 */
export interface Driver {
  /** The name an operator chooses the driver by (`qemu`, `sim`): also what logs call it. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /**
   * Makes the VM's files (disk overlay, seed, config) in its own directory on the node; keeps those
   * already there. Checks what a user or the catalog can get wrong (an image file missing, a bad
   * name) before it makes anything. Starts nothing.
   */
  create(spec: VmSpec, signal: AbortSignal): Promise<void>;
  /**
   * Starts the VM made by `create` if it is not running; resolves once the hypervisor says it runs
   * (state `running`), or with state `unknown` when a process of this VM is already up but cannot say:
   * start never runs a second process for a VM and never kills one it cannot ask. A VM whose guest
   * ended (`halted`) is replaced. Makes no file: a VM without `create`'s files is refused.
   */
  start(spec: VmSpec, signal: AbortSignal): Promise<VmObservation>;
  /**
   * Stops the VM if it runs: asks the guest, waits a bounded time, then forces, each step bounded;
   * resolves once its process is gone (and reaped when it is the agent's child). Its files stay.
   */
  stop(id: string, signal: AbortSignal, options?: StopOptions): Promise<void>;
  /**
   * Reboots a running VM from its own disk and resolves once the hypervisor says it runs again (or
   * `unknown`, as for start). `force`: a reset the guest cannot refuse (QEMU's system_reset); else a
   * stop that asks the guest first (as `stop`), then a start: what the guest sees as a reboot.
   */
  reboot(spec: VmSpec, force: boolean, signal: AbortSignal): Promise<VmObservation>;
  /** Stops the VM if needed, then deletes every file it had on this node. */
  destroy(id: string, signal: AbortSignal): Promise<void>;
  /** What is there now of this VM, or undefined if the node has nothing of it. Changes nothing. */
  inspect(id: string, signal: AbortSignal): Promise<VmObservation | undefined>;
  /** Ids of every VM that has files on this node (running or not): what an agent re-adopts. */
  list(signal: AbortSignal): Promise<string[]>;
  /**
   * What the guest wrote on its serial console in its current run (since the VM last started), as
   * bytes, untouched: the rest of the run after `from` when `from` is a place in this run, else the
   * run from its start (`planConsoleRead`); at most `maxBytes` (0: only where the run is now). Null
   * when the driver keeps no console (`capabilities.serialConsole` false) or has nothing of the VM.
   * A run is named anew at every start of the VM, so that its start is never taken for more of the
   * run before it, and keeps its name across agent restarts.
   */
  readConsole(id: string, from: ConsolePlace | null, maxBytes: number, signal: AbortSignal): Promise<ConsoleRead | null>;
  /**
   * Whether the VM's guest answers, for a driver that knows without a network (the sim driver); a
   * driver without it has its guests probed by an ssh banner read.
   */
  readonly guestAnswers?: (id: string, signal: AbortSignal) => Promise<boolean>;
  /**
   * Releases what the driver holds (sessions, watchers). VMs keep running unless stopped: the next
   * agent adopts them. The agent calls no verb after close, nor close while a verb runs.
   */
  close(): Promise<void>;
}

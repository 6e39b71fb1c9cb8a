// The hypervisor driver interface: the agent loop knows only these verbs.

import type { VmSpec } from "../../core/protocol.js";

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
  /** Forwarded ssh port on the node (user-mode networking), when there is one. */
  sshPort: number | null;
  /** Why the VM is not running, when the driver knows. */
  error: string | null;
}

/**
 * A hypervisor driver. Every verb is idempotent: the agent calls them again after any crash,
 * and a verb that finds its work already done returns quietly.
 */
export interface Driver {
  readonly name: string;
  /** Makes the VM's files (overlay, seed, config) in its own directory; keeps those already there. */
  create(spec: VmSpec): Promise<void>;
  /**
   * Starts the VM made by `create` if it is not running; resolves once the hypervisor says it runs
   * (state `running`), or with state `unknown` when a process of this VM is already up but cannot say:
   * start never runs a second process for a VM and never kills one it cannot ask.
   */
  start(spec: VmSpec): Promise<VmObservation>;
  /** Stops the VM: asks the guest, waits a bounded time, then forces; the process is reaped. Files stay. */
  stop(id: string): Promise<void>;
  /** Stops the VM if needed and deletes every file it had on this node. */
  destroy(id: string): Promise<void>;
  /** What is there now for this VM, or undefined if the node has nothing of it. */
  inspect(id: string): Promise<VmObservation | undefined>;
  /** Ids of every VM that has files on this node (running or not): what an agent re-adopts. */
  list(): Promise<string[]>;
  /** Releases what the driver holds (children it waits on stay running unless stopped). */
  close(): Promise<void>;
}

// The hypervisor driver interface: the agent loop knows only these verbs.

import type { VmSpec } from "../../core/protocol.js";

/** What a driver sees of one VM on this node. */
export interface VmObservation {
  id: string;
  /** The hypervisor runs the VM (QEMU up, QMP says running). */
  running: boolean;
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
  /** Starts the VM if it is not running; resolves once the hypervisor says it runs. */
  start(spec: VmSpec): Promise<VmObservation>;
  /** Stops the VM: asks the guest, waits a bounded time, then forces; the process is reaped. */
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

// What is there of a VM's QEMU: running, unknown (QEMU up, QMP silent or paused), halted (QEMU up,
// guest ended) or gone (no QEMU), from its pid file, /proc and one QMP question. Changes nothing.

import type { VmObservation } from "../driver.js";
import type { QemuChildren } from "./children.js";
import { cannotTell, guestEnded, qemuGone } from "./failure-words.js";
import { readPort, readTail } from "./file-io.js";
import type { VmPaths } from "./files.js";
import { describeExit, readPidFile } from "./process.js";
import type { QmpSessions } from "./qmp-sessions.js";

/** What the driver sees, plus the live QEMU's PID (undefined when the state is `gone`). */
export type QemuObservation = VmObservation & { pid: number | undefined };

/**
 * QMP run states after which the guest cannot go on by itself (qapi/run-state.json). Every other state
 * that is not `running` (paused, io-error, suspended, ...) may pass, so it is `unknown`, not `halted`.
 */
const HALTED_STATUSES = new Set(["shutdown", "guest-panicked", "internal-error"]);

export interface ObserveContext {
  id: string;
  paths: VmPaths;
  children: QemuChildren;
  sessions: QmpSessions;
}

export async function observeQemu({ id, paths, children, sessions }: ObserveContext, signal: AbortSignal): Promise<QemuObservation> {
  // User networking: the guest's own address is private to its QEMU; the forwarded port reaches it.
  const seen = { id, address: null, sshPort: await readPort(paths.sshPort) };
  const pid = await children.livePid(id, paths.pidFile);
  if (pid === undefined) {
    const words = await deathWords(id, paths, children);
    return { ...seen, state: "gone", error: words?.error ?? null, detail: words?.detail ?? null, pid };
  }
  try {
    const status = await sessions.queryStatus(id, paths.qmpSocket, signal);
    if (status.running) return { ...seen, state: "running", error: null, detail: null, pid };
    if (HALTED_STATUSES.has(status.status)) return { ...seen, state: "halted", ...guestEnded(pid, status.status), pid };
    return { ...seen, state: "unknown", ...cannotTell(pid, `says the VM is ${status.status}`), pid };
  } catch (err) {
    signal.throwIfAborted();
    // The process is alive: a slow answer is no proof that the VM is dead.
    const why = `does not answer QMP: ${err instanceof Error ? err.message : String(err)}`;
    return { ...seen, state: "unknown", ...cannotTell(pid, why), pid };
  }
}

export function withoutPid({ id, state, address, sshPort, error, detail }: QemuObservation): VmObservation {
  return { id, state, address, sshPort, error, detail };
}

/** Why a VM that has files is not running, or undefined if it was simply never started or was stopped. */
async function deathWords(id: string, paths: VmPaths, children: QemuChildren) {
  const exit = children.get(id)?.exit;
  const stalePid = await readPidFile(paths.pidFile);
  if (exit === undefined && stalePid === undefined) return undefined;
  return qemuGone(exit === undefined ? null : describeExit(exit), stalePid, await readTail(paths.qemuLog));
}

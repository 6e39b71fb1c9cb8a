// The QEMUs this agent spawned (its children: awaiting their exit reaps them), and how any VM's QEMU,
// the agent's own or one adopted after a restart, is found alive: by its pid file, checked in /proc.

import { setTimeout as sleep } from "node:timers/promises";

import { abortable } from "../../abortable.js";
import { isQemuOfVm, readPidFile, type QemuChild } from "./process.js";

const POLL_MS = 50;

export class QemuChildren {
  private readonly children = new Map<string, QemuChild>();

  add(id: string, child: QemuChild): void {
    this.children.set(id, child);
  }

  get(id: string): QemuChild | undefined {
    return this.children.get(id);
  }

  forget(id: string): void {
    this.children.delete(id);
  }

  /** The PID of VM `id`'s live QEMU: from its pid file (or our child), checked against /proc. */
  async livePid(id: string, pidFile: string): Promise<number | undefined> {
    const candidates = [await readPidFile(pidFile), this.children.get(id)?.process.pid];
    for (const pid of candidates) {
      if (pid !== undefined && (await isQemuOfVm(pid, pidFile))) return pid;
    }
    return undefined;
  }

  /**
   * Waits at most `timeoutMs` until `pid` is gone: our own child by its 'exit' (which reaps it), an
   * adopted one by polling /proc. True once it is gone; rejects when `signal` aborts.
   */
  async waitGone(id: string, pid: number, pidFile: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const child = this.children.get(id);
    if (child !== undefined && child.process.pid === pid) {
      if (child.exit === undefined) {
        const timer = new AbortController();
        const timeout = sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined);
        try {
          await abortable(Promise.race([child.exited, timeout]), signal);
        } finally {
          timer.abort(); // no timer left behind to hold the event loop
        }
      }
      return child.exit !== undefined;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!(await isQemuOfVm(pid, pidFile))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS, undefined, { signal });
    }
  }
}

// Stopping a VM: ask the guest (ACPI powerdown), then QEMU (QMP quit), then the kernel (SIGKILL), each
// followed by a bounded wait, as lima's pkg/instance/stop.go does. A busybox guest, or a Debian one
// without acpid, ignores the powerdown (MACHINE-NOTES.md): the wait for it is short, then QEMU quits.

import { rm } from "node:fs/promises";

import { DriverError } from "../driver.js";
import type { QemuChildren } from "./children.js";
import { outlivedKill } from "./failure-words.js";
import type { VmPaths } from "./files.js";
import { signalProcess } from "./process.js";
import type { QmpSessions } from "./qmp-sessions.js";

/** The steps of the sequence, on one live process. */
export interface StopTarget {
  /** Sends a QMP command; false if QEMU could not be asked at all. */
  ask(command: "system_powerdown" | "quit"): Promise<boolean>;
  isAlive(): Promise<boolean>;
  /** Waits at most `ms` for the process to end; true once it has. */
  waitGone(ms: number): Promise<boolean>;
  kill(): void;
}

export interface StopTimeouts {
  /** How long the guest may take to power down; a guest that ignores ACPI costs this much. */
  powerdownMs: number;
  /** `quit` ends QEMU at once; SIGKILL too unless the process is stuck in the kernel. */
  quitMs: number;
  killMs: number;
}

export const DEFAULT_STOP_TIMEOUTS: StopTimeouts = { powerdownMs: 2_000, quitMs: 3_000, killMs: 10_000 };

/** How the process ended, or `still-there` if it outlived SIGKILL and its wait. */
export type StopOutcome = "powered-off" | "quit" | "killed" | "still-there";

/** `force` skips asking the guest (a stop its owner forced): QEMU quits at once. */
export async function runStopSequence(target: StopTarget, timeouts: StopTimeouts, force = false): Promise<StopOutcome> {
  // A QEMU that cannot be asked cannot pass the request on to its guest: no point waiting for it.
  if (!force && (await target.ask("system_powerdown")) && (await target.waitGone(timeouts.powerdownMs))) return "powered-off";
  if (!(await target.isAlive())) return "powered-off";
  // QEMU closes the socket as it quits, sometimes before its answer: the wait decides, not the answer.
  await target.ask("quit");
  if (await target.waitGone(timeouts.quitMs)) return "quit";
  target.kill();
  return (await target.waitGone(timeouts.killMs)) ? "killed" : "still-there";
}

export interface StopContext {
  id: string;
  paths: VmPaths;
  children: QemuChildren;
  sessions: QmpSessions;
  timeouts: StopTimeouts;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Quit at once, without asking the guest to power down. */
  force?: boolean;
}

/** Stops VM `id`'s QEMU if one is alive; returns once it is gone (and reaped, if it was our child). */
export async function stopQemu({ id, paths, children, sessions, timeouts, log, force }: StopContext, signal: AbortSignal): Promise<void> {
  const pid = await children.livePid(id, paths.pidFile);
  if (pid !== undefined) {
    const outcome = await runStopSequence(
      {
        ask: (command) => sessions.tryCommand(id, paths.qmpSocket, command, signal),
        isAlive: async () => (await children.livePid(id, paths.pidFile)) !== undefined,
        waitGone: (ms) => children.waitGone(id, pid, paths.pidFile, ms, signal),
        kill: () => {
          log("qemu ignored quit; killing it", { vm: id, pid });
          signalProcess(pid, "SIGKILL");
        },
      },
      timeouts,
      force,
    );
    if (outcome === "still-there") {
      const words = outlivedKill(pid, timeouts.killMs);
      throw new DriverError(words.error, `VM ${id}: ${words.detail}`);
    }
    log(outcome === "powered-off" ? "vm powered off" : "vm stopped", { vm: id, pid, how: outcome });
  }
  await sessions.close(id);
  children.forget(id);
  // QEMU leaves these behind when killed; a stale pid file would make a later reused PID look ours.
  await rm(paths.pidFile, { force: true });
  await rm(paths.qmpSocket, { force: true });
}

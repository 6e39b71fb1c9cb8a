// Finding a VM's QEMU process again from its pid file, safely: a PID is only trusted when
// /proc/PID/cmdline shows a qemu-system process started for this VM (PIDs are reused).

import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";

export const QEMU_PROGRAM = "qemu-system-x86_64";

/** A QEMU this agent spawned (its own child), and how it ended once it has. */
export interface QemuChild {
  process: ChildProcess;
  exited: Promise<void>;
  exit?: { code: number | null; signal: NodeJS.Signals | null; error?: string };
}

/** The PID written by QEMU's `-pidfile`, or undefined if there is none (or it is not a number). */
export async function readPidFile(pidFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** The argument vector of a live process; undefined if it is gone (a zombie has an empty one). */
export async function readCmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, "utf8");
    if (raw.length === 0) return undefined;
    return raw.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live QEMU of the VM whose pid file is `pidFile`: its program is qemu-system-*
 * and it was given exactly that `-pidfile`. A reused PID of any other process never matches.
 */
export async function isQemuOfVm(pid: number, pidFile: string): Promise<boolean> {
  const argv = await readCmdline(pid);
  if (argv === undefined || argv.length === 0) return false;
  if (!path.basename(argv[0]!).startsWith("qemu-system")) return false;
  const at = argv.indexOf("-pidfile");
  return at >= 0 && argv[at + 1] === pidFile;
}

/** Sends a signal, ignoring a process that is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Follows a QEMU this agent spawned: its exit is recorded, and awaiting `exited` means it is reaped. */
export function trackChild(child: ChildProcess): QemuChild {
  const entry: QemuChild = { process: child, exited: Promise.resolve() };
  entry.exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      entry.exit ??= { code, signal };
      resolve();
    });
    child.once("error", (err) => {
      entry.exit ??= { code: null, signal: null, error: err.message };
      resolve();
    });
  });
  return entry;
}

/** How a child QEMU ended, in words. */
export function describeExit(exit: NonNullable<QemuChild["exit"]>): string {
  if (exit.error !== undefined) return `cannot run ${QEMU_PROGRAM}: ${exit.error}`;
  return exit.signal !== null ? `QEMU was killed by ${exit.signal}` : `QEMU exited with code ${exit.code}`;
}

// Starting a VM's QEMU: spawned as the agent's own child in a session of its own, then watched until
// QMP says the VM runs. A forwarded port taken between our pick and QEMU's bind is tried again.

import { spawn, type ChildProcess } from "node:child_process";
import { open, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

import type { VmSpec } from "../../../core/protocol.js";
import { kernelCmdlineEscape, renderTemplate, templateVarsFor } from "../../../core/template.js";
import { imageFile } from "../../image-files.js";
import { newConsoleStream } from "../console.js";
import { DriverError, type VmObservation } from "../driver.js";
import { buildQemuArgs, type Accel, type DirectBoot } from "./args.js";
import type { QemuChildren } from "./children.js";
import { PORT_TAKEN, didNotRunInTime, exitedAtStart } from "./failure-words.js";
import { readTail, writeFileAtomically } from "./file-io.js";
import type { VmPaths } from "./files.js";
import { pickFreePort } from "./ports.js";
import { QEMU_PROGRAM, describeExit, trackChild } from "./process.js";
import type { QmpSessions } from "./qmp-sessions.js";

/** Each try picks a fresh port; another process taking it between our pick and QEMU's bind is rare. */
const START_ATTEMPTS = 5;
const POLL_MS = 50;

export interface LaunchContext {
  spec: VmSpec;
  paths: VmPaths;
  imageDirectory: string;
  sshBind: string;
  accel: Accel;
  startTimeoutMs: number;
  children: QemuChildren;
  sessions: QmpSessions;
  /** Stops a QEMU that never said it runs (the stop sequence). */
  stop: () => Promise<void>;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

/** The kernel, initrd and rendered command line when the image boots directly; null otherwise. */
export function directBoot(spec: VmSpec, imageDirectory: string): DirectBoot | null {
  if (spec.image.kernel === null) return null;
  // User networking gives the guest its address by DHCP: there is none to put on the command line.
  const vars = templateVarsFor(spec, { vmIp: "" });
  return {
    kernel: imageFile(imageDirectory, "kernel", spec.image.kernel),
    initrd: spec.image.initrd === null ? null : imageFile(imageDirectory, "initrd", spec.image.initrd),
    cmdline: renderTemplate(spec.image.cmdline ?? "", vars, kernelCmdlineEscape),
  };
}

/** Runs the VM's QEMU until QMP says the VM runs; rejects with the owner's and QEMU's words if not. */
export async function launchQemu(ctx: LaunchContext, signal: AbortSignal): Promise<VmObservation> {
  const boot = directBoot(ctx.spec, ctx.imageDirectory);
  for (let attempt = 1; ; attempt++) {
    const port = await pickFreePort(ctx.sshBind);
    const failure = await spawnQemu(ctx, { boot, port }, signal);
    if (failure === undefined) {
      return { id: ctx.spec.id, state: "running", address: null, sshPort: port, error: null, detail: null };
    }
    if (PORT_TAKEN.test(failure) && attempt < START_ATTEMPTS) {
      ctx.log("ssh port taken before qemu bound it; trying another", { vm: ctx.spec.id, port, attempt });
      continue;
    }
    const words = exitedAtStart(failure);
    throw new DriverError(words.error, `VM ${ctx.spec.id}: ${words.detail}`);
  }
}

/** Spawns QEMU and waits until QMP says the VM runs; resolves with QEMU's words if it exited. */
async function spawnQemu(ctx: LaunchContext, run: { boot: DirectBoot | null; port: number }, signal: AbortSignal): Promise<string | undefined> {
  const { spec, paths } = ctx;
  const args = buildQemuArgs({ paths, spec, accel: ctx.accel, sshBind: ctx.sshBind, sshPort: run.port, boot: run.boot });
  await rm(paths.pidFile, { force: true });
  await rm(paths.qmpSocket, { force: true });
  // Written before QEMU starts, so an agent that crashes right after still knows the port.
  await writeFileAtomically(paths.sshPort, `${run.port}\n`);
  // A new run of the console: the old file goes first, then the new name, so that no read ever finds
  // the old run's bytes under the new name (the driver's readConsole checks the name around its read).
  await rm(paths.consoleLog, { force: true });
  await writeFileAtomically(paths.consoleStream, `${newConsoleStream()}\n`);
  signal.throwIfAborted();

  // stderr goes to a file, not a pipe: a pipe would break (and could kill QEMU) when the agent exits.
  const stderrLog = await open(paths.qemuLog, "w");
  let child: ChildProcess;
  try {
    // detached: its own session, so Ctrl-C on the agent's terminal does not reach the VMs.
    child = spawn(QEMU_PROGRAM, args, { cwd: paths.dir, detached: true, stdio: ["ignore", "ignore", stderrLog.fd] });
  } finally {
    await stderrLog.close();
  }
  const entry = trackChild(child);
  ctx.children.add(spec.id, entry);
  child.unref(); // the agent may exit and leave its VMs running

  const spawnedAt = Date.now();
  const deadline = spawnedAt + ctx.startTimeoutMs;
  for (;;) {
    if (entry.exit !== undefined) {
      ctx.children.forget(spec.id);
      await ctx.sessions.close(spec.id);
      return (await readTail(paths.qemuLog)) || describeExit(entry.exit);
    }
    // An agent shutting down leaves a QEMU that is starting to run on: the next agent adopts it.
    const status = await ctx.sessions.queryStatus(spec.id, paths.qmpSocket, signal).catch(() => undefined);
    signal.throwIfAborted();
    if (status?.running === true) {
      ctx.log("qemu runs the vm", {
        vm: spec.id, pid: child.pid, sshPort: run.port, accel: ctx.accel, msFromSpawn: Date.now() - spawnedAt,
      });
      return undefined;
    }
    if (Date.now() > deadline) {
      const seen = status === undefined ? "QMP did not answer" : `QMP says ${status.status}`;
      await ctx.stop();
      const words = didNotRunInTime(deadline - spawnedAt, seen);
      throw new DriverError(words.error, `VM ${spec.id}: ${words.detail}`);
    }
    await sleep(POLL_MS, undefined, { signal });
  }
}

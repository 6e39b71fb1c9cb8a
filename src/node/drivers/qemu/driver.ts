// The qemu driver: one qemu-system-x86_64 per VM, spawned by the agent and controlled over QMP. Every
// file of a VM lives in its own directory (files.ts), so a restarted agent re-adopts running VMs.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, open, readdir, rm, stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { Invalid } from "../../../core/errors.js";
import { isVmId, printable } from "../../../core/names.js";
import type { VmSpec } from "../../../core/protocol.js";
import { kernelCmdlineEscape, renderTemplate, templateVarsFor } from "../../../core/template.js";
import { renderSeedFiles, writeSeedIso } from "../../cloudinit/seed.js";
import type { Driver, VmObservation } from "../driver.js";
import { buildQemuArgs, type Accel, type DirectBoot } from "./args.js";
import {
  fileExists,
  makeFileAtomically,
  readPort,
  readTail,
  removeTempFiles,
  writeFileAtomically,
} from "./file-io.js";
import { vmPaths, vmsDir, type VmPaths } from "./files.js";
import { createOverlay } from "./overlay.js";
import { pickFreePort } from "./ports.js";
import {
  QEMU_PROGRAM,
  describeExit,
  isQemuOfVm,
  readPidFile,
  signalProcess,
  trackChild,
  waitUntilGone,
  type QemuChild,
} from "./process.js";
import { QmpClient, QmpError } from "./qmp.js";

export interface QemuDriverOptions {
  /** The node's state directory; VMs live in `<stateDir>/vms/<id>/`. */
  stateDir: string;
  /** Where the images' disks, kernels and initrds are (file names in a VmSpec are relative to it). */
  imageDirectory: string;
  /** The IPv4 address forwarded ssh ports listen on (127.0.0.1 keeps VMs reachable from this node only). */
  sshBind: string;
  /**
   * KVM or TCG: the node probes once at start (accel.ts) and hands every driver the same answer, a
   * promise so that the probe's few seconds overlap the first sync rather than the first deploy.
   */
  accel: Accel | Promise<Accel>;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** How long stop() lets the guest power down before quitting QEMU; a busybox guest ignores ACPI. */
  powerdownTimeoutMs?: number;
  /** How long start() waits for QMP to say the VM runs. */
  startTimeoutMs?: number;
}

interface QmpStatus {
  status: string;
  running: boolean;
}

/** What the driver sees, plus the live QEMU's PID (undefined when the state is `gone`). */
type Observation = VmObservation & { pid: number | undefined };

/** Each try picks a fresh port; another process taking it between our pick and QEMU's bind is rare. */
const START_ATTEMPTS = 5;
const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_POWERDOWN_TIMEOUT_MS = 2_000;
/** QMP answers within milliseconds when QEMU is healthy; a longer wait only delays the verdict. */
const QMP_CONNECT_TIMEOUT_MS = 1_000;
const QMP_COMMAND_TIMEOUT_MS = 3_000;
/** `quit` ends QEMU at once; SIGKILL too unless the process is stuck in the kernel. */
const QUIT_TIMEOUT_MS = 3_000;
const KILL_TIMEOUT_MS = 10_000;
const POLL_MS = 50;
/** QEMU's words when the forwarded port is taken (slirp, QEMU 7.2). */
const PORT_TAKEN = /could not set up host forwarding rule/i;
/**
 * QMP run states after which the guest cannot go on by itself (qapi/run-state.json). Every other state
 * that is not `running` (paused, io-error, suspended, ...) may pass, so it is `unknown`, not `halted`.
 */
const HALTED_STATUSES = new Set(["shutdown", "guest-panicked", "internal-error"]);

export class QemuDriver implements Driver {
  readonly name = "qemu";
  /** QEMUs this agent spawned: awaiting their 'exit' reaps them. Adopted ones are found by pid file. */
  private readonly children = new Map<string, QemuChild>();
  private readonly qmpClients = new Map<string, Promise<QmpClient>>();
  /** One verb at a time per VM, so a start never races a destroy of the same VM. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: QemuDriverOptions) {
    // QEMU 7.2's hostfwd takes an IPv4 address: refuse anything else now rather than at every start.
    if (!net.isIPv4(opts.sshBind)) {
      throw new Invalid("sshBind", `ssh bind address '${printable(opts.sshBind)}' is not an IPv4 address such as 127.0.0.1`);
    }
  }

  async create(spec: VmSpec): Promise<void> {
    // Everything a user or the catalog can get wrong is checked before the first file is made.
    const paths = vmPaths(this.opts.stateDir, spec.id);
    const backing = this.imageFile("disk", spec.image.disk);
    await this.requireImageFile("disk", backing);
    if (spec.image.kernel !== null) await this.requireImageFile("kernel", this.imageFile("kernel", spec.image.kernel));
    if (spec.image.initrd !== null) await this.requireImageFile("initrd", this.imageFile("initrd", spec.image.initrd));
    const seed = renderSeedFiles(spec);
    this.directBoot(spec);

    await this.withLock(spec.id, async () => {
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      await removeTempFiles(paths.dir);
      if (!(await fileExists(paths.spec))) {
        await writeFileAtomically(paths.spec, `${JSON.stringify(spec, null, 2)}\n`);
      }
      if (!(await fileExists(paths.overlay))) {
        await makeFileAtomically(paths.overlay, (tmp) => createOverlay(backing, tmp));
      }
      if (!(await fileExists(paths.seedIso))) {
        await makeFileAtomically(paths.seedIso, (tmp) => writeSeedIso(paths.seedDir, seed, tmp));
      }
    });
  }

  /** Starts what `create` made: the agent owns the order (create, then start); start makes no file. */
  async start(spec: VmSpec): Promise<VmObservation> {
    const paths = vmPaths(this.opts.stateDir, spec.id);
    return this.withLock(spec.id, () => this.startLocked(spec, paths));
  }

  async stop(id: string): Promise<void> {
    if (!isVmId(id)) return; // nothing can exist for it
    const paths = vmPaths(this.opts.stateDir, id);
    await this.withLock(id, () => this.stopLocked(id, paths));
  }

  async destroy(id: string): Promise<void> {
    if (!isVmId(id)) return;
    const paths = vmPaths(this.opts.stateDir, id);
    await this.withLock(id, async () => {
      await this.stopLocked(id, paths);
      if (!(await fileExists(paths.dir))) return;
      await rm(paths.dir, { recursive: true, force: true });
      this.opts.log("vm files deleted", { vm: id });
    });
  }

  async inspect(id: string): Promise<VmObservation | undefined> {
    if (!isVmId(id)) return undefined;
    const paths = vmPaths(this.opts.stateDir, id);
    if (!(await fileExists(paths.dir))) return undefined;
    return withoutPid(await this.observe(id, paths));
  }

  async list(): Promise<string[]> {
    try {
      const entries = await readdir(vmsDir(this.opts.stateDir), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && isVmId(e.name)).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  async close(): Promise<void> {
    const ids = [...this.qmpClients.keys()];
    await Promise.all(ids.map((id) => this.closeQmp(id)));
    // The QEMUs keep running (each in its own session): the next agent adopts them by pid file.
  }

  private async startLocked(spec: VmSpec, paths: VmPaths): Promise<VmObservation> {
    const current = await this.observe(spec.id, paths);
    // A QEMU of this VM that cannot say it runs might be a healthy VM on a busy node: never kill it
    // nor start a second one here (stop() does that on purpose); the caller asks again later.
    if (current.state === "running" || current.state === "unknown") return withoutPid(current);
    if (current.state === "halted") {
      // Its guest ended for good (shut down, panicked): replace it; it holds the overlay's lock.
      this.opts.log("replacing a qemu whose guest ended", { vm: spec.id, pid: current.pid, why: current.error });
      await this.stopLocked(spec.id, paths);
    }
    for (const file of [paths.spec, paths.overlay, paths.seedIso]) {
      if (!(await fileExists(file))) {
        throw new Error(`VM ${spec.id} has no ${path.basename(file)} on this node: create() makes it before start()`);
      }
    }
    const accel = await this.opts.accel;
    const boot = this.directBoot(spec);
    for (let attempt = 1; ; attempt++) {
      const port = await pickFreePort(this.opts.sshBind);
      const failure = await this.spawnQemu(spec, paths, { accel, boot, port });
      if (failure === undefined) return { id: spec.id, state: "running", sshPort: port, error: null };
      if (PORT_TAKEN.test(failure) && attempt < START_ATTEMPTS) {
        this.opts.log("ssh port taken before qemu bound it; trying another", { vm: spec.id, port, attempt });
        continue;
      }
      throw new Error(`QEMU did not start VM ${spec.id}: ${failure}`);
    }
  }

  /** Spawns QEMU and waits until QMP says the VM runs; resolves with QEMU's words if it exited. */
  private async spawnQemu(
    spec: VmSpec,
    paths: VmPaths,
    run: { accel: Accel; boot: DirectBoot | null; port: number },
  ): Promise<string | undefined> {
    const args = buildQemuArgs({ paths, spec, sshBind: this.opts.sshBind, sshPort: run.port, ...run });
    await rm(paths.pidFile, { force: true });
    await rm(paths.qmpSocket, { force: true });
    // Written before QEMU starts, so an agent that crashes right after still knows the port.
    await writeFileAtomically(paths.sshPort, `${run.port}\n`);

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
    this.children.set(spec.id, entry);
    child.unref(); // the agent may exit and leave its VMs running

    const spawnedAt = Date.now();
    const deadline = spawnedAt + (this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    for (;;) {
      if (entry.exit !== undefined) {
        this.children.delete(spec.id);
        await this.closeQmp(spec.id);
        const words = (await readTail(paths.qemuLog)) || describeExit(entry.exit);
        return words;
      }
      const status = await this.queryStatus(spec.id, paths).catch(() => undefined);
      if (status?.running === true) {
        this.opts.log("qemu runs the vm", {
          vm: spec.id, pid: child.pid, sshPort: run.port, accel: run.accel, msFromSpawn: Date.now() - spawnedAt,
        });
        return undefined;
      }
      if (Date.now() > deadline) {
        const seen = status === undefined ? "QMP did not answer" : `QMP says ${status.status}`;
        await this.stopLocked(spec.id, paths);
        throw new Error(`QEMU did not start VM ${spec.id} within ${deadline - spawnedAt} ms (${seen})`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Asks the guest, then QEMU, then the kernel; returns once the process is gone (and reaped if ours). */
  private async stopLocked(id: string, paths: VmPaths): Promise<void> {
    const pid = await this.livePid(id, paths);
    if (pid !== undefined) {
      const powerdownMs = this.opts.powerdownTimeoutMs ?? DEFAULT_POWERDOWN_TIMEOUT_MS;
      if (await this.tryQmp(id, paths, "system_powerdown")) {
        if (await this.waitGone(id, pid, paths, powerdownMs)) {
          this.opts.log("vm powered off", { vm: id, pid });
        }
      }
      if ((await this.livePid(id, paths)) !== undefined) {
        // QEMU closes the socket as it quits, sometimes before its answer: the wait below decides.
        await this.tryQmp(id, paths, "quit");
        if (!(await this.waitGone(id, pid, paths, QUIT_TIMEOUT_MS))) {
          this.opts.log("qemu ignored quit; killing it", { vm: id, pid });
          signalProcess(pid, "SIGKILL");
          if (!(await this.waitGone(id, pid, paths, KILL_TIMEOUT_MS))) {
            throw new Error(`QEMU (pid ${pid}) of VM ${id} is still there ${KILL_TIMEOUT_MS} ms after SIGKILL`);
          }
        }
      }
      this.opts.log("vm stopped", { vm: id, pid });
    }
    await this.closeQmp(id);
    this.children.delete(id);
    // QEMU leaves these behind when killed; a stale pid file would make a later reused PID look ours.
    await rm(paths.pidFile, { force: true });
    await rm(paths.qmpSocket, { force: true });
  }

  /** Waits until `pid` is gone: our own child by its 'exit' (which reaps it), an adopted one via /proc. */
  private async waitGone(id: string, pid: number, paths: VmPaths, timeoutMs: number): Promise<boolean> {
    const child = this.children.get(id);
    if (child !== undefined && child.process.pid === pid) {
      if (child.exit === undefined) await raceTimeout(child.exited, timeoutMs);
      return child.exit !== undefined;
    }
    return waitUntilGone(pid, paths.pidFile, timeoutMs);
  }

  /** Running, unknown (QEMU up, QMP silent or paused), halted (QEMU up, guest ended) or gone (no QEMU). */
  private async observe(id: string, paths: VmPaths): Promise<Observation> {
    const sshPort = await readPort(paths.sshPort);
    const pid = await this.livePid(id, paths);
    if (pid === undefined) {
      return { id, state: "gone", sshPort, error: await this.deathReason(id, paths), pid };
    }
    try {
      const status = await this.queryStatus(id, paths);
      if (status.running) return { id, state: "running", sshPort, error: null, pid };
      const error = `QEMU (pid ${pid}) says the VM is ${status.status}`;
      return { id, state: HALTED_STATUSES.has(status.status) ? "halted" : "unknown", sshPort, error, pid };
    } catch (err) {
      // The process is alive: a slow answer is no proof that the VM is dead.
      const error = `QEMU (pid ${pid}) does not answer QMP: ${errorText(err)}`;
      return { id, state: "unknown", sshPort, error, pid };
    }
  }

  /** The PID of this VM's live QEMU: from the pid file (or our child), checked against /proc. */
  private async livePid(id: string, paths: VmPaths): Promise<number | undefined> {
    const candidates = [await readPidFile(paths.pidFile), this.children.get(id)?.process.pid];
    for (const pid of candidates) {
      if (pid !== undefined && (await isQemuOfVm(pid, paths.pidFile))) return pid;
    }
    return undefined;
  }

  /** Why a VM that has files is not running, or null if it was simply never started or was stopped. */
  private async deathReason(id: string, paths: VmPaths): Promise<string | null> {
    const exit = this.children.get(id)?.exit;
    const stalePid = await readPidFile(paths.pidFile);
    if (exit === undefined && stalePid === undefined) return null;
    const words = await readTail(paths.qemuLog);
    const how = exit !== undefined ? describeExit(exit) : `QEMU (pid ${stalePid}) is gone`;
    return words.length > 0 ? `${how}: ${words}` : how;
  }

  private async queryStatus(id: string, paths: VmPaths): Promise<QmpStatus> {
    const qmp = await this.qmpFor(id, paths);
    try {
      return await qmp.execute<QmpStatus>("query-status", undefined, QMP_COMMAND_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof QmpError)) await this.closeQmp(id);
      throw err;
    }
  }

  /** Sends a command whose answer does not matter; false if QEMU could not be asked at all. */
  private async tryQmp(id: string, paths: VmPaths, command: string): Promise<boolean> {
    try {
      const qmp = await this.qmpFor(id, paths);
      await qmp.execute(command, undefined, QMP_COMMAND_TIMEOUT_MS);
      return true;
    } catch (err) {
      this.opts.log(`qmp ${command} failed`, { vm: id, error: errorText(err) });
      return false;
    }
  }

  /** One QMP session per VM, kept open: QEMU serves a single QMP client at a time. */
  private async qmpFor(id: string, paths: VmPaths): Promise<QmpClient> {
    const cached = this.qmpClients.get(id);
    if (cached !== undefined) {
      const client = await cached.catch(() => undefined);
      if (client?.isOpen() === true) return client;
      if (this.qmpClients.get(id) === cached) this.qmpClients.delete(id);
    }
    const connecting = QmpClient.connect(paths.qmpSocket, { timeoutMs: QMP_CONNECT_TIMEOUT_MS });
    this.qmpClients.set(id, connecting);
    connecting.catch(() => {
      if (this.qmpClients.get(id) === connecting) this.qmpClients.delete(id);
    });
    return connecting;
  }

  private async closeQmp(id: string): Promise<void> {
    const cached = this.qmpClients.get(id);
    this.qmpClients.delete(id);
    (await cached?.catch(() => undefined))?.close();
  }

  /** The kernel, initrd and rendered command line when the image boots directly; null otherwise. */
  private directBoot(spec: VmSpec): DirectBoot | null {
    if (spec.image.kernel === null) return null;
    // User networking gives the guest its address by DHCP: there is none to put on the command line.
    const vars = templateVarsFor(spec, { vmIp: "" });
    return {
      kernel: this.imageFile("kernel", spec.image.kernel),
      initrd: spec.image.initrd === null ? null : this.imageFile("initrd", spec.image.initrd),
      cmdline: renderTemplate(spec.image.cmdline ?? "", vars, kernelCmdlineEscape),
    };
  }

  /** An image's file in the image directory; its name must be a plain file name, never a path. */
  private imageFile(kind: "disk" | "kernel" | "initrd", name: string): string {
    if (name.length === 0 || name.includes("/") || name.includes("\\") || name.includes("..") || /\p{Cc}/u.test(name)) {
      throw new Invalid(
        `image.${kind}`,
        `image ${kind} '${printable(name)}' must be a plain file name in the image directory, without '/' or '..'`,
      );
    }
    return path.join(path.resolve(this.opts.imageDirectory), name);
  }

  private async requireImageFile(kind: string, file: string): Promise<void> {
    const found = await stat(file).catch(() => undefined);
    if (found?.isFile() !== true) {
      throw new Invalid(
        `image.${kind}`,
        `image ${kind} '${path.basename(file)}' is not in the image directory ${path.dirname(file)}`,
      );
    }
  }

  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run;
  }
}

function withoutPid({ id, state, sshPort, error }: Observation): VmObservation {
  return { id, state, sshPort, error };
}

/** Waits for `promise` at most `ms`, without a timer left behind to hold the event loop. */
async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

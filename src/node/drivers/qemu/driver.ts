// The qemu driver: one qemu-system-x86_64 per VM, spawned by the agent and controlled over QMP. Every
// file of a VM lives in its own directory (files.ts), so a restarted agent re-adopts running VMs.
// The verbs are here; starting (launch.ts), observing (observe.ts) and stopping (stop-sequence.ts)
// a QEMU, and its QMP sessions (qmp-sessions.ts), each have their own module.

import { mkdir, readdir, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

import { Invalid } from "../../../core/errors.js";
import { isVmId, printable } from "../../../core/names.js";
import type { ConsolePlace, VmSpec } from "../../../core/protocol.js";
import { renderSeedFiles, writeSeedIso } from "../../cloudinit/seed.js";
import { requireImageFile } from "../../image-files.js";
import { planConsoleRead, type ConsoleRead } from "../console.js";
import { DriverError, type Driver, type DriverCapabilities, type StopOptions, type VmObservation } from "../driver.js";
import { PerVmLock } from "../per-vm-lock.js";
import type { Accel } from "./args.js";
import { QemuChildren } from "./children.js";
import { fileExists, makeFileAtomically, readConsoleStream, readRange, removeTempFiles, writeFileAtomically } from "./file-io.js";
import { vmPaths, vmsDir, type VmPaths } from "./files.js";
import { directBoot, launchQemu } from "./launch.js";
import { observeQemu, withoutPid } from "./observe.js";
import { createOverlay } from "./overlay.js";
import { QmpSessions } from "./qmp-sessions.js";
import { DEFAULT_STOP_TIMEOUTS, stopQemu } from "./stop-sequence.js";

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

const DEFAULT_START_TIMEOUT_MS = 30_000;

export class QemuDriver implements Driver {
  readonly name = "qemu";
  /** Direct boot and disk boot; user networking only so far; the serial console goes to console.log. */
  readonly capabilities: DriverCapabilities = { bootModes: ["direct", "disk"], networkModes: ["user"], serialConsole: true };
  /** QEMUs this agent spawned: awaiting their 'exit' reaps them. Adopted ones are found by pid file. */
  private readonly children = new QemuChildren();
  private readonly sessions: QmpSessions;
  private readonly lock = new PerVmLock();

  constructor(private readonly opts: QemuDriverOptions) {
    // QEMU 7.2's hostfwd takes an IPv4 address: refuse anything else now rather than at every start.
    if (!net.isIPv4(opts.sshBind)) {
      throw new Invalid("sshBind", `ssh bind address '${printable(opts.sshBind)}' is not an IPv4 address such as 127.0.0.1`);
    }
    this.sessions = new QmpSessions(opts.log);
  }

  async create(spec: VmSpec, signal: AbortSignal): Promise<void> {
    // Everything a user or the catalog can get wrong is checked before the first file is made.
    const paths = this.pathsOf(spec.id);
    const { imageDirectory } = this.opts;
    const backing = await requireImageFile(imageDirectory, "disk", spec.image.disk);
    if (spec.image.kernel !== null) await requireImageFile(imageDirectory, "kernel", spec.image.kernel);
    if (spec.image.initrd !== null) await requireImageFile(imageDirectory, "initrd", spec.image.initrd);
    const seed = renderSeedFiles(spec);
    try {
      directBoot(spec, imageDirectory);
    } catch (err) {
      if (!(err instanceof Invalid && err.field === "template")) throw err;
      const reason = `the image's kernel command line cannot be made (${err.message}): an administrator must correct the image in the catalog`;
      throw new DriverError(reason, `VM ${spec.id}: ${err.message}`);
    }

    await this.lock.run(spec.id, () => madeOrSaid("the node could not make the VM's files", async () => {
      signal.throwIfAborted();
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      await removeTempFiles(paths.dir);
      if (!(await fileExists(paths.spec))) {
        await writeFileAtomically(paths.spec, `${JSON.stringify(spec, null, 2)}\n`);
      }
      signal.throwIfAborted();
      if (!(await fileExists(paths.overlay))) {
        await madeOrSaid("the node could not make the VM's disk", () =>
          makeFileAtomically(paths.overlay, (tmp) => createOverlay(backing, tmp, signal)),
        );
      }
      signal.throwIfAborted();
      if (!(await fileExists(paths.seedIso))) {
        await madeOrSaid("the node could not make the VM's cloud-init seed", () =>
          makeFileAtomically(paths.seedIso, (tmp) => writeSeedIso(paths.seedDir, seed, tmp, signal)),
        );
      }
    }));
  }

  /** Starts what `create` made: the agent owns the order (create, then start); start makes no file. */
  async start(spec: VmSpec, signal: AbortSignal): Promise<VmObservation> {
    const paths = this.pathsOf(spec.id);
    return this.lock.run(spec.id, () => this.startLocked(spec, paths, signal));
  }

  async stop(id: string, signal: AbortSignal, options: StopOptions = {}): Promise<void> {
    if (!isVmId(id)) return; // nothing can exist for it
    const paths = this.pathsOf(id);
    await this.lock.run(id, () => madeOrSaid("the node could not stop the VM", () => this.stopLocked(id, paths, signal, options.force)));
  }

  /**
   * force: QMP system_reset, the same QEMU going on (its forwarded port too). Else the stop sequence
   * (ACPI powerdown, then quit after a bounded wait) and a new QEMU on the same disk: a busybox guest
   * ignores ACPI (MACHINE-NOTES.md), and QEMU offers no ACPI reboot, so this is the reboot every guest sees.
   */
  async reboot(spec: VmSpec, force: boolean, signal: AbortSignal): Promise<VmObservation> {
    const paths = this.pathsOf(spec.id);
    return this.lock.run(spec.id, () => madeOrSaid("the node could not reboot the VM", async () => {
      if (force) {
        const current = await this.observe(spec.id, paths, signal);
        if (current.state === "running" && (await this.sessions.tryCommand(spec.id, paths.qmpSocket, "system_reset", signal))) {
          this.opts.log("vm reset", { vm: spec.id, pid: current.pid });
          return withoutPid(await this.observe(spec.id, paths, signal));
        }
        // A QEMU that cannot be asked to reset is replaced, as a soft reboot does.
      }
      await this.stopLocked(spec.id, paths, signal, force);
      return this.startLocked(spec, paths, signal);
    }));
  }

  async destroy(id: string, signal: AbortSignal): Promise<void> {
    if (!isVmId(id)) return;
    const paths = this.pathsOf(id);
    await this.lock.run(id, async () => {
      await madeOrSaid("its QEMU could not be stopped", () => this.stopLocked(id, paths, signal));
      if (!(await fileExists(paths.dir))) return;
      await madeOrSaid("the VM's files could not be deleted from the node", () => rm(paths.dir, { recursive: true, force: true }));
      this.opts.log("vm files deleted", { vm: id });
    });
  }

  async inspect(id: string, signal: AbortSignal): Promise<VmObservation | undefined> {
    if (!isVmId(id)) return undefined;
    const paths = this.pathsOf(id);
    if (!(await fileExists(paths.dir))) return undefined;
    return withoutPid(await this.observe(id, paths, signal));
  }

  async list(signal: AbortSignal): Promise<string[]> {
    signal.throwIfAborted();
    try {
      const entries = await readdir(vmsDir(this.opts.stateDir), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && isVmId(e.name)).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  async readConsole(id: string, from: ConsolePlace | null, maxBytes: number, signal: AbortSignal): Promise<ConsoleRead | null> {
    if (!isVmId(id)) return null;
    signal.throwIfAborted();
    const paths = this.pathsOf(id);
    // The run's name is read before its bytes and again after: a start in between (console.log made
    // anew, then a new name) makes this read worth nothing, never the new run's bytes under the old name.
    const stream = await readConsoleStream(paths.consoleStream);
    const read = await readRange(paths.consoleLog, (size) => planConsoleRead({ stream, size }, from, maxBytes));
    if (read === null) return null;
    const restarted = (await readConsoleStream(paths.consoleStream)) !== stream;
    // Restarted meanwhile: nothing is known to be new (the next read finds the new run).
    return restarted ? { stream, offset: read.offset, bytes: Buffer.alloc(0), size: read.offset } : { stream, ...read };
  }

  async close(): Promise<void> {
    await this.sessions.closeAll();
    // The QEMUs keep running (each in its own session): the next agent adopts them by pid file.
  }

  private async startLocked(spec: VmSpec, paths: VmPaths, signal: AbortSignal): Promise<VmObservation> {
    const current = await this.observe(spec.id, paths, signal);
    // A QEMU of this VM that cannot say it runs might be a healthy VM on a busy node: never kill it
    // nor start a second one here (stop() does that on purpose); the caller asks again later.
    if (current.state === "running" || current.state === "unknown") return withoutPid(current);
    if (current.state === "halted") {
      // Its guest ended for good (shut down, panicked): replace it; it holds the overlay's lock.
      this.opts.log("replacing a qemu whose guest ended", { vm: spec.id, pid: current.pid, why: current.detail });
      await this.stopLocked(spec.id, paths, signal);
    }
    for (const file of [paths.spec, paths.overlay, paths.seedIso]) {
      if (!(await fileExists(file))) {
        throw new Error(`VM ${spec.id} has no ${path.basename(file)} on this node: create() makes it before start()`);
      }
    }
    const accel = await this.opts.accel;
    return madeOrSaid("QEMU could not be started", () => launchQemu(
      {
        spec,
        paths,
        imageDirectory: this.opts.imageDirectory,
        sshBind: this.opts.sshBind,
        accel,
        startTimeoutMs: this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        children: this.children,
        sessions: this.sessions,
        stop: () => this.stopLocked(spec.id, paths, signal),
        log: this.opts.log,
      },
      signal,
    ));
  }

  private stopLocked(id: string, paths: VmPaths, signal: AbortSignal, force = false): Promise<void> {
    const timeouts = { ...DEFAULT_STOP_TIMEOUTS, powerdownMs: this.opts.powerdownTimeoutMs ?? DEFAULT_STOP_TIMEOUTS.powerdownMs };
    return stopQemu({ id, paths, children: this.children, sessions: this.sessions, timeouts, log: this.opts.log, force }, signal);
  }

  /** The VM's files; a state directory too long for QEMU's socket is the node's fault, said so to admins. */
  private pathsOf(id: string): VmPaths {
    try {
      return vmPaths(this.opts.stateDir, id);
    } catch (err) {
      if (!(err instanceof Invalid && err.field === "stateDir")) throw err;
      throw new DriverError("this node's state directory cannot hold the VM: an administrator must choose a shorter one", err.message);
    }
  }

  private observe(id: string, paths: VmPaths, signal: AbortSignal) {
    return observeQemu({ id, paths, children: this.children, sessions: this.sessions }, signal);
  }
}

/**
 * Runs a step of the node's own. A failure already in owner's words (DriverError, Invalid), or an
 * abort, passes as it is; any other reaches the owner as `reason`, and the admins with its cause.
 */
async function madeOrSaid<T>(reason: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof DriverError || err instanceof Invalid || (err instanceof Error && err.name === "AbortError")) throw err;
    throw new DriverError(`${reason}; an administrator can read why in the node's log`, err instanceof Error ? err.message : String(err));
  }
}

// The sim driver: a simulated hypervisor, for control-plane tests and benchmarks. It runs no process
// and touches no disk; its VMs live in memory. Never chosen unless named (node.ts defaults to qemu).

import type { ConsolePlace, VmSpec } from "../../../core/protocol.js";
import { newConsoleStream, planConsoleRead, type ConsoleRead } from "../console.js";
import { DriverError, type Driver, type DriverCapabilities, type VmCondition, type VmObservation } from "../driver.js";

export type SimVerb = "create" | "start" | "stop" | "destroy" | "reboot";

/** A simulated VM: what `inspect` answers of it. A VM in the map is one with files on the node. */
export interface SimVm {
  state: VmCondition;
  address: string | null;
  sshPort: number | null;
  error: string | null;
  detail: string | null;
}

/** A simulated VM's console: its current run, by name, and what was "printed" in it. */
export interface SimConsole {
  stream: string;
  bytes: Buffer;
}

export interface SimDriverOptions {
  /** The node's VMs; hand the map of one driver to the next to model VMs that outlive their agent. */
  vms?: Map<string, SimVm>;
  /** The VMs' consoles; handed on with `vms`, as a console file outlives its agent. */
  consoles?: Map<string, SimConsole>;
  /** The forwarded ssh port every started VM gets (a stand-in sshd, or a port nothing answers on). */
  sshPort?: number | null;
  /** The address every started VM gets (a guest on a bridge); null: user networking. */
  address?: string | null;
  /**
   * A guest answers this long after its start, by the driver's own word (no network, no process):
   * node.toml's simBootSeconds. Unset: guests are probed over the network like any other.
   */
  bootSeconds?: number;
  /** The clock boot times are measured on. */
  now?: () => number;
}

/**
 * A hypervisor in memory, whose faults a test scripts: fail the next verb (`failNext`), hold an
 * inspection (`holdInspect`), set a VM's condition (`setCondition`, as a QEMU dying would). It
 * records every verb, and any use of it after (or while) it is closed, for the agent's tests to check.
 */
export class SimDriver implements Driver {
  readonly name = "sim";
  readonly capabilities: DriverCapabilities = { bootModes: ["direct", "disk"], networkModes: ["user", "bridge"], serialConsole: true };
  /**
   * What each VM "printed" on its console: a few lines of its own at each start (a new run, as a
   * QEMU started anew writes its console from zero), and whatever a test prints; gone with the VM.
   */
  readonly consoles: Map<string, SimConsole>;
  readonly vms: Map<string, SimVm>;
  readonly calls: Array<[SimVerb, string]> = [];
  readonly inspections = new Map<string, number>();
  /** Misuse seen: a verb after close, or close while a verb was still running. */
  readonly misuse: string[] = [];
  private readonly failures: Array<{ verb: SimVerb; id: string | undefined; message: string; detail: string | null }> = [];
  private readonly held = new Map<string, { until: Promise<void>; release: () => void }>();
  private readonly sshPort: number | null;
  private readonly address: string | null;
  private busy = 0;
  private closed = false;

  readonly guestAnswers?: (id: string, signal: AbortSignal) => Promise<boolean>;
  /** When each VM was last started, for guestAnswers. */
  private readonly startedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(opts: SimDriverOptions = {}) {
    this.vms = opts.vms ?? new Map<string, SimVm>();
    this.consoles = opts.consoles ?? new Map<string, SimConsole>();
    this.sshPort = opts.sshPort ?? null;
    this.address = opts.address ?? null;
    this.now = opts.now ?? Date.now;
    const { bootSeconds } = opts;
    if (bootSeconds !== undefined) {
      this.guestAnswers = async (id, signal) => {
        signal.throwIfAborted();
        const started = this.startedAt.get(id);
        return this.vms.get(id)?.state === "running" && started !== undefined && this.now() - started >= bootSeconds * 1000;
      };
    }
  }

  /** The next `verb` (of VM `id`, or of any VM) fails once, with `message` for the owner (and `detail`). */
  failNext(verb: SimVerb, id: string | undefined, message: string, detail: string | null = null): void {
    this.failures.push({ verb, id, message, detail });
  }

  /** Inspections of VM `id` wait until the returned function is called (or their signal aborts). */
  holdInspect(id: string): () => void {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    const letGo = () => {
      if (this.held.get(id)?.until === until) this.held.delete(id);
      release();
    };
    this.held.set(id, { until, release: letGo });
    return letGo;
  }

  /** Lets every held inspection go (a story that failed half-way must not leave its agent stuck). */
  releaseAll(): void {
    for (const { release } of [...this.held.values()]) release();
  }

  /** Sets what `inspect` will see of VM `id`, as the hypervisor would after a crash or a hang. */
  setCondition(id: string, condition: Partial<SimVm>): void {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`the sim driver has no VM ${id}`);
    Object.assign(vm, condition);
  }

  count(verb: SimVerb, id: string): number {
    return this.calls.filter(([v, i]) => v === verb && i === id).length;
  }

  async create(spec: VmSpec, signal: AbortSignal): Promise<void> {
    await this.verb("create", spec.id, signal, () => {
      if (!this.vms.has(spec.id)) this.vms.set(spec.id, { state: "gone", address: null, sshPort: null, error: null, detail: null });
    });
  }

  async start(spec: VmSpec, signal: AbortSignal): Promise<VmObservation> {
    return this.verb("start", spec.id, signal, () => {
      const vm = this.vms.get(spec.id);
      if (!vm) throw new Error(`VM ${spec.id} has no files: create() makes them before start()`);
      if (vm.state === "gone" || vm.state === "halted") {
        Object.assign(vm, { state: "running", address: this.address, sshPort: this.sshPort, error: null, detail: null });
        this.startedAt.set(spec.id, this.now());
        this.consoles.set(spec.id, { stream: newConsoleStream(), bytes: Buffer.from(simulatedBoot(spec)) });
      }
      return { id: spec.id, ...vm };
    });
  }

  async stop(id: string, signal: AbortSignal): Promise<void> {
    await this.verb("stop", id, signal, () => {
      const vm = this.vms.get(id);
      if (vm) Object.assign(vm, { state: "gone", error: null, detail: null });
    });
  }

  /** A reboot: a new run of the guest (a new console, a new boot time), as a reset or a stop and start gives. */
  async reboot(spec: VmSpec, _force: boolean, signal: AbortSignal): Promise<VmObservation> {
    return this.verb("reboot", spec.id, signal, () => {
      const vm = this.vms.get(spec.id);
      if (!vm) throw new Error(`VM ${spec.id} has no files: create() makes them before start()`);
      Object.assign(vm, { state: "running", address: this.address, sshPort: this.sshPort, error: null, detail: null });
      this.startedAt.set(spec.id, this.now());
      this.consoles.set(spec.id, { stream: newConsoleStream(), bytes: Buffer.from(simulatedBoot(spec)) });
      return { id: spec.id, ...vm };
    });
  }

  async destroy(id: string, signal: AbortSignal): Promise<void> {
    await this.verb("destroy", id, signal, () => {
      this.vms.delete(id);
      this.consoles.delete(id);
    });
  }

  async inspect(id: string, signal: AbortSignal): Promise<VmObservation | undefined> {
    this.use(`inspect ${id}`);
    this.busy++;
    try {
      this.inspections.set(id, (this.inspections.get(id) ?? 0) + 1);
      const held = this.held.get(id);
      // A held inspection is a hung hypervisor: like any driver's, it gives up when its signal aborts.
      if (held) await untilAborted(held.until, signal);
      signal.throwIfAborted();
      const vm = this.vms.get(id);
      return vm && { id, ...vm };
    } finally {
      this.busy--;
    }
  }

  /** VM `id`'s guest writes `text` (or bytes that need not be text) on its console in its current run. */
  printOnConsole(id: string, text: string | Buffer): void {
    const run = this.consoles.get(id) ?? { stream: newConsoleStream(), bytes: Buffer.alloc(0) };
    this.consoles.set(id, { stream: run.stream, bytes: Buffer.concat([run.bytes, Buffer.from(text)]) });
  }

  async readConsole(id: string, from: ConsolePlace | null, maxBytes: number, signal: AbortSignal): Promise<ConsoleRead | null> {
    this.use(`readConsole ${id}`);
    signal.throwIfAborted();
    const run = this.consoles.get(id);
    if (run === undefined) return null;
    const { offset, length } = planConsoleRead({ stream: run.stream, size: run.bytes.length }, from, maxBytes);
    return { stream: run.stream, offset, bytes: run.bytes.subarray(offset, offset + length), size: run.bytes.length };
  }

  async list(signal: AbortSignal): Promise<string[]> {
    this.use("list");
    signal.throwIfAborted();
    return [...this.vms.keys()];
  }

  async close(): Promise<void> {
    if (this.busy > 0) this.misuse.push(`close while ${this.busy} verb(s) still ran`);
    this.closed = true;
  }

  private async verb<T>(verb: SimVerb, id: string, signal: AbortSignal, act: () => T): Promise<T> {
    this.use(`${verb} ${id}`);
    this.calls.push([verb, id]);
    this.busy++;
    try {
      await Promise.resolve(); // a real verb takes a while: let other work interleave
      signal.throwIfAborted();
      const failure = this.failures.findIndex((f) => f.verb === verb && (f.id === undefined || f.id === id));
      if (failure >= 0) {
        const { message, detail } = this.failures.splice(failure, 1)[0]!;
        throw new DriverError(message, detail);
      }
      return act();
    } finally {
      this.busy--;
    }
  }

  private use(what: string): void {
    if (this.closed) this.misuse.push(`${what} after close`);
  }
}

/** What a simulated VM "prints" as it starts: a few lines that say what they are. */
function simulatedBoot(spec: VmSpec): string {
  return [
    "vgrid sim driver: this console is simulated; no guest runs, and no line here was printed by one",
    `sim: booting ${spec.hostname} (${spec.memoryMiB} MiB, ${spec.cpus} cpus, image ${spec.image.tag})`,
    `sim: ${spec.hostname} is up`,
    "",
  ].join("\r\n");
}

/** Resolves when `until` does or `signal` aborts, whichever comes first. */
function untilAborted(until: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    void until.then(done);
  });
}

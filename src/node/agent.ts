// The node agent: long-polls what should be on this host and makes reality match through a driver.
// Level-triggered and idempotent: every sync answer re-queues each VM whose report does not match what
// the server wants (with a per-VM back-off), so a step that failed, or a crash, is repaired later.
// The parts: the sync loop (sync-loop.ts), the per-VM work queue (work-queue.ts), the decisions
// (decide.ts, pure), the liveness prober (liveness-prober.ts) and the console shipper
// (console-shipper.ts); this file carries decisions out.

import { Invalid } from "../core/errors.js";
import { printable } from "../core/names.js";
import { isSafeSshHost, type SyncResponse, type VmReport, type VmSpec } from "../core/protocol.js";
import { realClock, type Clock } from "./clock.js";
import { ConsoleShipper } from "./console-shipper.js";
import { crashVerdict } from "./crash-restarts.js";
import { NOT_LOOKED, decide, isSettled, type Action, type VmSituation } from "./decide.js";
import { DriverError, detailOf, type Driver } from "./drivers/driver.js";
import { LivenessProber } from "./liveness-prober.js";
import { ServerLink } from "./server-link.js";
import type { ServerTrust } from "./server-trust.js";
import { SyncLoop } from "./sync-loop.js";
import { changeReport, newRecord, reachOf, situationOf, type VmRecord } from "./vm-record.js";
import { WorkQueue } from "./work-queue.js";

export interface AgentOptions {
  serverUrl: string;
  /** How the server's certificate is checked over HTTPS; the system's CAs unless given. */
  serverTrust?: ServerTrust;
  nodeName: string;
  token: string;
  driver: Driver;
  /** The address clients use to reach this node's forwarded ssh ports. */
  sshHost: string;
  /** The address the agent itself connects to for liveness probes: where the forwarded ports listen. */
  probeHost: string;
  /** The machine's memory and cpus, as the node measured them. */
  facts: { memoryMiB: number; cpus: number };
  log: (msg: string, fields?: Record<string, unknown>) => void;
  pollWaitSeconds?: number;
  /** Time and timers; the real ones unless a test moves time itself. */
  clock?: Clock;
}

/** Stopping every VM at shutdown is bounded, each stop being bounded: a hung driver cannot keep the node up. */
const SHUTDOWN_STOP_TIMEOUT_MS = 60_000;

export class Agent {
  private readonly vms = new Map<string, VmRecord>();
  private readonly link: ServerLink;
  private readonly loop: SyncLoop;
  private readonly queue: WorkQueue;
  private readonly prober: LivenessProber;
  private readonly consoles: ConsoleShipper;
  /** Aborted by shutdown: ends the driver's verbs, probes and back-off sleeps at once. */
  private readonly stopping = new AbortController();
  private stopped = false;

  private readonly opts: AgentOptions;
  private readonly clock: Clock;

  constructor(options: AgentOptions) {
    // Every line about a VM carries the id of the request that deployed it: one VM's story reads
    // across the server's log and the node's.
    const opts: AgentOptions = {
      ...options,
      log: (msg, fields) => {
        const vm = typeof fields?.vm === "string" ? this.vms.get(fields.vm) : undefined;
        options.log(msg, vm?.spec.requestId ? { ...fields, reqId: vm.spec.requestId } : fields);
      },
    };
    this.opts = opts;
    // The server refuses any other sshHost on every sync: say so once, at start, naming the fix.
    if (!isSafeSshHost(opts.sshHost)) {
      throw new Invalid(
        "sshHost",
        `ssh host '${printable(opts.sshHost)}' is not a host name or IP address such as node1.example.org or 10.0.0.5`,
      );
    }
    const clock = opts.clock ?? realClock;
    this.clock = clock;
    // This agent's own connections to the server, closed by shutdown (see ServerLink for why).
    this.link = new ServerLink(opts.serverUrl, opts.token, opts.serverTrust);
    this.loop = new SyncLoop({
      link: this.link,
      node: { node: opts.nodeName, sshHost: opts.sshHost, facts: opts.facts },
      handler: {
        reports: () => new Map([...this.vms].filter(([, vm]) => vm.observed).map(([id, vm]) => [id, vm.report] as const)),
        consoles: () => this.consoles.chunks([...this.vms.keys()]),
        hasLookedAtAll: () => [...this.vms.values()].every((vm) => vm.spec.desired !== "running" || vm.looked),
        apply: (response, sent) => this.apply(response, sent),
      },
      clock,
      log: opts.log,
      ...(opts.pollWaitSeconds === undefined ? {} : { pollWaitSeconds: opts.pollWaitSeconds }),
    });
    this.queue = new WorkQueue({ clock, onRetryDue: () => this.loop.wake() });
    this.prober = new LivenessProber({
      driver: opts.driver,
      clock,
      probeHost: opts.probeHost,
      targets: () => [...this.vms.values()].filter((vm) => this.isProbed(vm)).map((vm) => ({ id: vm.spec.id, desired: vm.spec.desired, report: vm.report })),
      isProbed: (id) => this.isProbed(this.vms.get(id)),
      onChange: (id, change) => {
        const vm = this.vms.get(id);
        if (vm) this.setReport(vm, change);
      },
      onCrash: (id, error, detail) => {
        const vm = this.vms.get(id);
        if (vm) this.crashed(vm, error, detail);
      },
      log: opts.log,
      signal: this.stopping.signal,
    });
    this.consoles = new ConsoleShipper({
      driver: opts.driver,
      clock,
      watched: () => [...this.vms.values()].filter((vm) => vm.report.state === "running").map((vm) => vm.spec.id),
      isLongPolling: () => this.loop.isLongPolling(),
      wake: () => this.loop.wake(),
      log: opts.log,
      signal: this.stopping.signal,
    });
  }

  start(): void {
    this.loop.start();
    this.prober.start();
    this.consoles.start();
  }

  /**
   * Resolves once the server has heard this node's first look at every VM it should run: from then
   * on, what the server shows of them is this run's truth, not what the previous run left.
   */
  online(): Promise<void> {
    return this.loop.online();
  }

  /** Ends the loop; with stopVms, stops (but keeps) every VM the node has so a later start can boot them again. */
  async shutdown(stopVms: boolean): Promise<void> {
    const { driver, log } = this.opts;
    this.stopped = true;
    this.prober.stop();
    this.consoles.stop();
    this.queue.stop();
    this.stopping.abort();
    await this.loop.stop();
    this.link.close();
    await this.queue.drain();
    // A probe in flight may still be asking the driver: it must be done before the driver closes.
    await this.prober.drain();
    await this.consoles.drain();
    if (stopVms) {
      const signal = AbortSignal.timeout(SHUTDOWN_STOP_TIMEOUT_MS);
      // Every VM with files here, not only those of this run: Ctrl-C before the first sync must stop
      // the VMs a previous run left running too.
      const ids = new Set([...this.vms].filter(([, vm]) => vm.report.state !== "terminated").map(([id]) => id));
      try {
        for (const id of await driver.list(signal)) ids.add(id);
      } catch (err) {
        log("listing VMs failed", { err: String(err) });
      }
      await Promise.all(
        [...ids].map((id) => driver.stop(id, signal).catch((err: unknown) => log("stopping VM failed", { vm: id, err: String(err), detail: detailOf(err) }))),
      );
    }
    await driver.close();
  }

  /**
   * Takes in what the server wants, re-queues every VM whose report does not match it yet (back-off
   * permitting), forgets what the server has seen terminated, and removes orphans.
   */
  private async apply(response: SyncResponse, sent: ReadonlyMap<string, VmReport>): Promise<void> {
    const listed = new Set(response.vms.map((v) => v.id));
    this.consoles.take(response);
    for (const spec of response.vms) {
      const vm = this.vms.get(spec.id);
      if (!vm) {
        const fresh = newRecord(spec);
        this.vms.set(spec.id, fresh);
        this.queue.enqueue(spec.id, () => this.converge(fresh));
      } else if (vm.spec.desired !== spec.desired) {
        this.changeDesired(vm, spec);
      } else if (spec.reboot !== undefined && spec.reboot.generation !== vm.spec.reboot?.generation) {
        // A reboot asked for just now: carried out at once, whatever the back-off of earlier passes.
        this.changeDesired(vm, spec);
      } else {
        vm.spec = spec;
        this.retryIfUnsettled(vm);
      }
    }
    for (const [id, vm] of this.vms) {
      if (listed.has(id)) continue;
      // The server no longer lists it: it has seen the VM terminated (or does not know it at all).
      if (vm.report.state === "terminated" && sent.get(id) === vm.report) {
        this.vms.delete(id);
        this.queue.forget(id);
        this.prober.forget(id);
        this.consoles.forget(id);
      } else if (vm.spec.desired !== "terminated") {
        this.changeDesired(vm, { ...vm.spec, desired: "terminated" });
      } else {
        this.retryIfUnsettled(vm);
      }
    }
    await this.removeOrphans(listed);
  }

  private changeDesired(vm: VmRecord, spec: VmSpec): void {
    if (vm.spec.desired !== spec.desired) vm.isStopped = false;
    vm.spec = spec;
    this.queue.resetBackoff(spec.id);
    this.queue.enqueue(spec.id, () => this.converge(vm));
  }

  private retryIfUnsettled(vm: VmRecord): void {
    if (!isSettled(this.situation(vm, NOT_LOOKED))) this.queue.retryWhenDue(vm.spec.id, () => this.converge(vm));
  }

  /** Only once the server has been heard: before, the agent cannot tell an orphan from a VM it should run. */
  private async removeOrphans(listed: Set<string>): Promise<void> {
    const { driver, log } = this.opts;
    const signal = this.stopping.signal;
    let ids: string[];
    try {
      ids = await driver.list(signal);
    } catch (err) {
      if (!signal.aborted) log("listing VMs failed", { err: String(err) });
      return;
    }
    for (const id of ids) {
      if (listed.has(id) || this.vms.has(id) || signal.aborted) continue;
      log("removing an orphan VM the server does not know", { vm: id });
      await driver.destroy(id, signal).catch((err: unknown) => log("removing orphan failed", { vm: id, err: String(err), detail: detailOf(err) }));
    }
  }

  /** One pass towards the spec; never throws: what fails is reported, logged, and tried again later. */
  private async converge(vm: VmRecord): Promise<boolean> {
    const signal = this.stopping.signal;
    const firstLook = !vm.looked;
    try {
      let action = decide(this.situation(vm, NOT_LOOKED));
      if (action.kind === "look") {
        const seen = await this.opts.driver.inspect(vm.spec.id, signal);
        vm.looked = true;
        action = decide(this.situation(vm, seen));
      }
      await this.carryOut(vm, action, signal);
    } catch (err) {
      if (!signal.aborted) this.reportFailure(vm, err);
    } finally {
      vm.looked = true;
      if (firstLook) this.loop.wake(); // the first look is done: `online` may be due
    }
    return isSettled(this.situation(vm, NOT_LOOKED));
  }

  private async carryOut(vm: VmRecord, action: Action, signal: AbortSignal): Promise<void> {
    const { driver, log } = this.opts;
    const { id } = vm.spec;
    switch (action.kind) {
      case "none":
      case "look":
        return;
      case "destroy":
        await driver.destroy(id, signal);
        this.setReport(vm, { state: "terminated", responding: false, sshPort: null, ip: null, error: null, detail: null });
        log("VM terminated", { vm: id });
        return;
      case "stop-keep-files": {
        const force = vm.spec.forceStop === true;
        await driver.stop(id, signal, { force });
        vm.isStopped = true;
        // A failed VM stays failed (its reason is what its owner reads); any other is stopped, as asked.
        const failed = vm.observed && vm.report.state === "failed";
        this.setReport(vm, { state: failed ? "failed" : "stopped", responding: false });
        log(failed ? "failed VM stopped; its files stay until it is terminated" : "VM stopped; its disk stays", { vm: id, force });
        return;
      }
      case "reboot":
        await this.reboot(vm, action.force, signal);
        return;
      case "crashed":
        this.crashed(vm, action.error, action.detail);
        return;
      case "adopt":
        if (vm.report.state !== "running") log("VM adopted", { vm: id, sshPort: action.seen.sshPort, ip: action.seen.address });
        this.setReport(vm, { state: "running", ...reachOf(action.seen), error: null, detail: null });
        return;
      case "wait":
        log("VM's process is alive but the hypervisor does not say it runs; asking again later", { vm: id, why: action.seen.detail });
        return;
      case "report-failed":
        log("VM failed", { vm: id, err: action.error, detail: action.detail });
        this.setReport(vm, { state: "failed", responding: false, error: action.error, detail: action.detail });
        return;
      case "create-and-start":
        await this.createAndStart(vm, signal);
        return;
    }
  }

  private async createAndStart(vm: VmRecord, signal: AbortSignal): Promise<void> {
    const { driver, log } = this.opts;
    const { spec } = vm;
    this.setReport(vm, { state: "provisioning", responding: false, error: null, detail: null });
    await driver.create(spec, signal);
    signal.throwIfAborted();
    const started = await driver.start(spec, signal);
    if (started.state === "unknown") {
      log("VM's process is alive but the hypervisor does not say it runs; asking again later", { vm: spec.id, why: started.detail });
      return;
    }
    if (started.state !== "running") throw new DriverError(started.error ?? `the ${driver.name} driver did not start the VM`, started.detail);
    this.setReport(vm, { state: "running", responding: false, ...reachOf(started), error: null, detail: null });
    this.prober.probeSoon(spec.id);
    log("VM running", { vm: spec.id, sshPort: started.sshPort, ip: started.address });
  }

  /**
   * Reboots a running VM and says so: `rebooted` tells the server this reboot is done, so it is not
   * asked again; the guest answers again only once it has booted (the prober sees it soon).
   */
  private async reboot(vm: VmRecord, force: boolean, signal: AbortSignal): Promise<void> {
    const { driver, log } = this.opts;
    const { spec } = vm;
    const generation = spec.reboot?.generation ?? 0;
    log(force ? "resetting VM" : "rebooting VM", { vm: spec.id, generation });
    this.setReport(vm, { responding: false });
    const seen = await driver.reboot(spec, force, signal);
    vm.rebootDone = Math.max(vm.rebootDone, generation);
    if (seen.state !== "running" && seen.state !== "unknown") {
      throw new DriverError(seen.error ?? `the ${driver.name} driver did not start the VM again after its reboot`, seen.detail);
    }
    this.setReport(vm, { state: "running", responding: false, ...reachOf(seen), error: null, detail: null, rebooted: vm.rebootDone });
    this.prober.probeSoon(spec.id);
    log("VM rebooted", { vm: spec.id, sshPort: seen.sshPort, force });
  }

  /**
   * A VM this run saw run is gone (its QEMU died, or its guest ended) without vgrid stopping it: failed
   * with the driver's words, unless its image says restartOnCrash. Then it is booted again from its own
   * disk, within crash-restarts.ts's bound, each restart reported (the server writes it in the VM's
   * history); one crash more and it is failed, saying it crashed too often. Counted by this agent's run.
   */
  private crashed(vm: VmRecord, error: string, detail: string | null): void {
    const { log } = this.opts;
    const { id } = vm.spec;
    if (vm.spec.image.restartOnCrash !== true) {
      log("VM failed", { vm: id, err: error, detail });
      this.setReport(vm, { state: "failed", responding: false, error, detail });
      return;
    }
    const verdict = crashVerdict(vm.crashRestarts, this.clock.now(), error);
    if (!verdict.restart) {
      log("VM crashed too often; failing it", { vm: id, err: error, detail });
      this.setReport(vm, { state: "failed", responding: false, error: verdict.error, detail });
      return;
    }
    vm.crashRestarts = verdict.times;
    log("VM crashed; restarting it (restartOnCrash)", { vm: id, err: error, detail, restarts: verdict.times.length });
    this.setReport(vm, { state: "provisioning", responding: false, crashRestart: verdict.words });
    this.queue.resetBackoff(id);
    this.queue.enqueue(id, () => this.converge(vm));
  }

  /** What a failed pass tells the owner: the driver's words (its message), and its detail for admins. */
  private reportFailure(vm: VmRecord, err: unknown): void {
    const { log } = this.opts;
    const { spec } = vm;
    const reason = err instanceof Error ? err.message : String(err);
    const detail = detailOf(err);
    switch (spec.desired) {
      case "stopped":
        // The reason the VM failed stays what the user sees; stopping it is the node's own business.
        log("stopping a failed VM failed; trying again later", { vm: spec.id, err: reason, detail });
        return;
      case "terminated":
        log("terminating VM failed; trying again later", { vm: spec.id, err: reason, detail });
        this.setReport(vm, { state: "failed", responding: false, error: `the node could not delete the VM: ${reason}`, detail });
        return;
      case "running":
        log("VM failed", { vm: spec.id, err: reason, detail });
        this.setReport(vm, { state: "failed", responding: false, error: reason, detail });
        return;
    }
  }

  private situation(vm: VmRecord, seen: VmSituation["seen"]): VmSituation {
    return situationOf(vm, seen, this.opts.driver.capabilities);
  }

  /** Whether the liveness prober watches the VM now: it runs, should run, and no pass works on it. */
  private isProbed(vm: VmRecord | undefined): boolean {
    return vm !== undefined && !this.stopped && vm.report.state === "running" && vm.spec.desired === "running" && !this.queue.isBusy(vm.spec.id);
  }

  private setReport(vm: VmRecord, change: Partial<VmReport>): void {
    if (changeReport(vm, change)) this.loop.wake();
  }
}

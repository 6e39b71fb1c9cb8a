// The node agent: long-polls what should be on this host and makes reality match through a driver.
// Level-triggered and idempotent: every sync response re-queues each VM whose report does not match
// what the server wants (with a per-VM backoff), so a step that failed, or a crash, is repaired later.

import { setTimeout as sleep } from "node:timers/promises";
import { Invalid } from "../core/errors.js";
import { printable } from "../core/names.js";
import { isSafeSshHost, type SyncRequest, type SyncResponse, type VmReport, type VmSpec } from "../core/protocol.js";
import type { Driver } from "./drivers/driver.js";
import { probeSshBanner } from "./liveness.js";
import { ServerLink } from "./server-link.js";

export interface AgentOptions {
  serverUrl: string;
  nodeName: string;
  token: string;
  driver: Driver;
  /** The address clients use to reach this node's forwarded ssh ports. */
  sshHost: string;
  /** The address the agent itself connects to for liveness probes: where the forwarded ports listen. */
  probeHost: string;
  facts: { memoryMiB: number; cpus: number };
  log: (msg: string, fields?: Record<string, unknown>) => void;
  pollWaitSeconds?: number;
}

interface Entry {
  spec: VmSpec;
  report: VmReport;
  /**
   * Whether a converge pass has looked at the VM: until then the agent knows nothing true to report
   * (a VM adopted after a restart would otherwise read as provisioning on the server meanwhile).
   */
  observed: boolean;
  /** Whether a converge pass has looked at the VM (reported or not): `online` waits for every first look. */
  looked: boolean;
  /** The driver stopped the VM since the server asked for `stopped`. */
  isStopped: boolean;
  /** Serialises the work on one VM; work on different VMs runs side by side. */
  task: Promise<void>;
  queued: boolean;
  converging: boolean;
  /** A converge that left the VM unlike its spec is tried again no sooner than this (ms since epoch). */
  retryAt: number;
  retryDelayMs: number;
  nextProbeAt: number;
  /** The hypervisor could not say the VM runs at the last probe (logged once, not on every probe). */
  isUnknown: boolean;
}

const PROBE_FAST_MS = 1000;
const PROBE_SLOW_MS = 10_000;
/**
 * While a guest boots, QEMU's user networking accepts the probe's connection but the guest is not
 * there to answer: a short wait lets the next probe try soon. A VM that answered gets longer, so a
 * busy guest is not marked unresponsive for a slow banner.
 */
const PROBE_BOOT_TIMEOUT_MS = 1000;
const PROBE_TIMEOUT_MS = 3000;
/** A failing step (a destroy that cannot delete, a silent QEMU) is retried after 2 s, 4 s, ... 60 s. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;

export class Agent {
  private readonly entries = new Map<string, Entry>();
  private version = 0;
  private dirty = true;
  private stopped = false;
  /** The sync request in flight; only one that waits (a long-poll) may be cut short by `wake`. */
  private poll: { abort: AbortController; waiting: boolean } | null = null;
  private loopDone: Promise<void> | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly probes = new Set<Promise<void>>();
  /** Aborted by shutdown: ends probes and back-off sleeps at once. */
  private readonly stopping = new AbortController();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryTimerAt = Number.POSITIVE_INFINITY;
  /** The server has answered once. */
  private responded = false;
  /** The server has heard this node's first look at every VM it should run: the node is online. */
  private synced = false;
  private readonly onlineWaiters: Array<() => void> = [];
  /** This agent's own connections to the server, closed by shutdown (see ServerLink for why). */
  private readonly link: ServerLink;

  constructor(private readonly opts: AgentOptions) {
    // The server refuses any other sshHost on every sync: say so once, at start, naming the fix.
    if (!isSafeSshHost(opts.sshHost)) {
      throw new Invalid(
        "sshHost",
        `ssh host '${printable(opts.sshHost)}' is not a host name or IP address such as node1.example.org or 10.0.0.5`,
      );
    }
    this.link = new ServerLink(opts.serverUrl, opts.token);
  }

  start(): void {
    this.loopDone = this.loop();
    this.probeTimer = setInterval(() => this.probeLiveness(), 500);
  }

  /**
   * Resolves once the server has heard this node's first look at every VM it should run: from then
   * on, what the server shows of them is this run's truth, not what the previous run left.
   */
  online(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.onlineWaiters.push(resolve));
  }

  /** Ends the loop; with stopVms, stops (but keeps) every VM the node has so a later start can boot them again. */
  async shutdown(stopVms: boolean): Promise<void> {
    const { driver, log } = this.opts;
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.poll?.abort.abort();
    this.stopping.abort();
    await this.loopDone;
    this.link.close();
    await Promise.all([...this.entries.values()].map((e) => e.task));
    // A probe in flight may still be asking the driver: it must be done before the driver closes.
    await Promise.all([...this.probes]);
    if (stopVms) {
      // Every VM with files here, not only those of this run: Ctrl-C before the first sync must stop
      // the VMs a previous run left running too.
      const ids = new Set([...this.entries].filter(([, e]) => e.report.state !== "terminated").map(([id]) => id));
      try {
        for (const id of await driver.list()) ids.add(id);
      } catch (err) {
        log("listing VMs failed", { err: String(err) });
      }
      await Promise.all(
        [...ids].map((id) => driver.stop(id).catch((err: unknown) => log("stopping VM failed", { vm: id, err: String(err) }))),
      );
    }
    await driver.close();
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      const sent = new Map([...this.entries].filter(([, e]) => e.observed).map(([id, e]) => [id, e.report] as const));
      const complete = this.responded && this.hasLookedAtAll();
      // Before the first answer there is nothing to wait for; later, a first look ends the wait (wake).
      const wait = this.dirty || !this.responded ? 0 : (this.opts.pollWaitSeconds ?? 25);
      this.dirty = false;
      const poll = { abort: new AbortController(), waiting: wait > 0 };
      this.poll = poll;
      let response: SyncResponse;
      try {
        response = await this.sync([...sent.values()], wait, poll.abort.signal);
        backoff = 500;
      } catch (err) {
        if (this.stopped) break;
        if (poll.abort.signal.aborted) continue; // woken up to report a change at once
        this.opts.log("sync with the server failed; retrying", { err: String(err), retryMs: backoff });
        this.dirty = true;
        await sleep(backoff, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      } finally {
        this.poll = null;
      }
      this.version = response.version;
      this.responded = true;
      await this.apply(response, sent);
      if (!this.synced && complete) {
        this.synced = true;
        for (const resolve of this.onlineWaiters.splice(0)) resolve();
      } else if (!this.synced && this.hasLookedAtAll()) {
        this.dirty = true; // nothing left to look at: tell the server so at once
      }
    }
  }

  private async sync(reports: VmReport[], waitSeconds: number, signal: AbortSignal): Promise<SyncResponse> {
    const body: SyncRequest = {
      node: this.opts.nodeName,
      version: this.version,
      waitSeconds,
      sshHost: this.opts.sshHost,
      facts: this.opts.facts,
      reports,
    };
    return this.link.sync(body, waitSeconds, signal);
  }

  /**
   * Takes in what the server wants, re-queues every VM whose report does not match it yet (backoff
   * permitting), forgets what the server has seen terminated, and removes orphans.
   */
  private async apply(response: SyncResponse, sent: Map<string, VmReport>): Promise<void> {
    const now = Date.now();
    const listed = new Set(response.vms.map((v) => v.id));
    for (const spec of response.vms) {
      const entry = this.entries.get(spec.id);
      if (!entry) {
        this.entries.set(spec.id, newEntry(spec));
        this.enqueue(spec.id);
      } else if (entry.spec.desired !== spec.desired) {
        this.changeDesired(entry, spec);
      } else {
        this.requeueIfUnlike(entry, now);
      }
    }
    for (const [id, entry] of this.entries) {
      if (listed.has(id)) continue;
      // The server no longer lists it: it has seen the VM terminated (or does not know it at all).
      if (entry.report.state === "terminated" && sent.get(id) === entry.report) {
        this.entries.delete(id);
      } else if (entry.spec.desired !== "terminated") {
        this.changeDesired(entry, { ...entry.spec, desired: "terminated" });
      } else {
        this.requeueIfUnlike(entry, now);
      }
    }
    await this.removeOrphans(listed);
  }

  private hasLookedAtAll(): boolean {
    return [...this.entries.values()].every((e) => e.spec.desired !== "running" || e.looked);
  }

  private changeDesired(entry: Entry, spec: VmSpec): void {
    entry.spec = spec;
    entry.isStopped = false;
    entry.retryAt = 0;
    entry.retryDelayMs = RETRY_FIRST_MS;
    this.enqueue(spec.id);
  }

  private requeueIfUnlike(entry: Entry, now: number): void {
    if (entry.queued || entry.converging || isConverged(entry)) return;
    if (now >= entry.retryAt) this.enqueue(entry.spec.id);
    else this.wakeAt(entry.retryAt);
  }

  private async removeOrphans(listed: Set<string>): Promise<void> {
    let ids: string[];
    try {
      ids = await this.opts.driver.list();
    } catch (err) {
      this.opts.log("listing VMs failed", { err: String(err) });
      return;
    }
    for (const id of ids) {
      if (listed.has(id) || this.entries.has(id)) continue;
      this.opts.log("removing an orphan VM the server does not know", { vm: id });
      await this.opts.driver.destroy(id).catch((err: unknown) => this.opts.log("removing orphan failed", { vm: id, err: String(err) }));
    }
  }

  private enqueue(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.queued) return;
    entry.queued = true;
    entry.task = entry.task.then(async () => {
      entry.queued = false;
      if (this.stopped) return;
      entry.converging = true;
      try {
        await this.converge(entry);
      } finally {
        entry.converging = false;
        if (!entry.looked) {
          entry.looked = true;
          this.wake();
        }
      }
      if (this.stopped || entry.queued) return;
      if (isConverged(entry)) {
        entry.retryAt = 0;
        entry.retryDelayMs = RETRY_FIRST_MS;
      } else {
        entry.retryAt = Date.now() + entry.retryDelayMs;
        entry.retryDelayMs = Math.min(entry.retryDelayMs * 2, RETRY_MAX_MS);
        this.wakeAt(entry.retryAt);
      }
    });
  }

  /** One pass towards the spec; never throws: what fails is reported, logged, and tried again later. */
  private async converge(entry: Entry): Promise<void> {
    const { driver, log } = this.opts;
    const { spec } = entry;
    try {
      switch (spec.desired) {
        case "terminated":
          await driver.destroy(spec.id);
          this.setReport(entry, { state: "terminated", responding: false, sshPort: null, error: null });
          log("VM terminated", { vm: spec.id });
          return;
        case "stopped":
          // A failed VM holds its slot and hostname until terminated: keep its files (logs) for diagnosis.
          await driver.stop(spec.id);
          entry.isStopped = true;
          this.setReport(entry, { state: "failed", responding: false });
          log("failed VM stopped; its files stay until it is terminated", { vm: spec.id });
          return;
        case "running":
          await this.bringUp(entry);
          return;
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (spec.desired === "stopped") {
        // The reason the VM failed stays what the user sees; stopping it is the node's own business.
        log("stopping a failed VM failed; trying again later", { vm: spec.id, err: reason });
      } else if (spec.desired === "terminated") {
        log("terminating VM failed; trying again later", { vm: spec.id, err: reason });
        this.setReport(entry, { state: "failed", responding: false, error: `the node could not delete the VM: ${reason}` });
      } else {
        log("VM failed", { vm: spec.id, err: reason });
        this.setReport(entry, { state: "failed", responding: false, error: reason });
      }
    }
  }

  /** Adopts a VM that runs, starts one that does not, and leaves alone one whose state is unknown. */
  private async bringUp(entry: Entry): Promise<void> {
    const { driver, log } = this.opts;
    const { spec } = entry;
    const seen = await driver.inspect(spec.id);
    entry.looked = true;
    if (seen?.state === "running") {
      if (entry.report.state !== "running") log("VM adopted", { vm: spec.id, sshPort: seen.sshPort });
      this.setReport(entry, { state: "running", sshPort: seen.sshPort, error: null });
      return;
    }
    if (seen?.state === "unknown") {
      // Its process is alive: maybe a healthy VM on a busy node. Neither fail it nor start another.
      this.wake(); // nothing to report, but the first look is done
      log("VM's process is alive but the hypervisor does not say it runs; asking again later", { vm: spec.id, why: seen.error });
      return;
    }
    this.setReport(entry, { state: "provisioning", responding: false, error: null });
    await driver.create(spec);
    if (this.stopped) return;
    const started = await driver.start(spec);
    if (started.state === "unknown") {
      log("VM's process is alive but the hypervisor does not say it runs; asking again later", { vm: spec.id, why: started.error });
      return;
    }
    if (started.state !== "running") throw new Error(started.error ?? `the ${driver.name} driver did not start the VM`);
    this.setReport(entry, { state: "running", responding: false, sshPort: started.sshPort, error: null });
    entry.nextProbeAt = 0;
    log("VM running", { vm: spec.id, sshPort: started.sshPort });
  }

  private setReport(entry: Entry, change: Partial<VmReport>): void {
    const next = { ...entry.report, ...change };
    if (entry.observed && JSON.stringify(next) === JSON.stringify(entry.report)) return;
    entry.report = next;
    entry.observed = true;
    this.wake();
  }

  /** Reports a change at once: ends a long-poll that is waiting; a request already on its way is left to finish. */
  private wake(): void {
    this.dirty = true;
    if (this.poll?.waiting === true) this.poll.abort.abort();
  }

  /** Wakes the loop at `at` (the earliest of the retries asked for), so a retry need not wait for a long-poll. */
  private wakeAt(at: number): void {
    if (this.stopped || at >= this.retryTimerAt) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryTimerAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, Math.max(0, at - Date.now()));
  }

  /** Liveness: a running VM is `responding` once its ssh answers with a banner; its process's death is a failure. */
  private probeLiveness(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (!isProbed(entry) || now < entry.nextProbeAt) continue;
      entry.nextProbeAt = Number.POSITIVE_INFINITY; // one probe at a time per VM
      const probe: Promise<void> = this.probeOne(entry).finally(() => this.probes.delete(probe));
      this.probes.add(probe);
    }
  }

  private async probeOne(entry: Entry): Promise<void> {
    const { driver, log } = this.opts;
    let nextInMs = PROBE_FAST_MS;
    try {
      const seen = await driver.inspect(entry.spec.id);
      if (this.stopped || !isProbed(entry)) return;
      if (seen === undefined || seen.state === "gone" || seen.state === "halted") {
        // Only a process that is gone, or a guest that ended for good, fails the VM.
        this.setReport(entry, { state: "failed", responding: false, error: seen?.error ?? "QEMU exited unexpectedly" });
        return;
      }
      if (seen.state === "unknown" && !entry.isUnknown) {
        log("VM's process is alive but the hypervisor does not say it runs; not failing it", { vm: entry.spec.id, why: seen.error });
      }
      entry.isUnknown = seen.state === "unknown";
      const port = seen.sshPort ?? entry.report.sshPort;
      const timeoutMs = entry.report.responding ? PROBE_TIMEOUT_MS : PROBE_BOOT_TIMEOUT_MS;
      const responding = port !== null && (await probeSshBanner(this.opts.probeHost, port, timeoutMs, this.stopping.signal));
      if (this.stopped || !isProbed(entry)) return;
      this.setReport(entry, { responding, sshPort: port });
      if (responding && seen.state === "running") nextInMs = PROBE_SLOW_MS;
    } catch {
      // The driver could not look (a transient error): look again soon.
    } finally {
      entry.nextProbeAt = Date.now() + nextInMs;
    }
  }
}

function newEntry(spec: VmSpec): Entry {
  return {
    spec,
    report: { id: spec.id, state: "provisioning", responding: false, sshPort: null, ip: null, error: null, detail: null },
    observed: false,
    looked: false,
    isStopped: false,
    task: Promise.resolve(),
    queued: false,
    converging: false,
    retryAt: 0,
    retryDelayMs: RETRY_FIRST_MS,
    nextProbeAt: 0,
    isUnknown: false,
  };
}

/** Whether the VM is as the server wants it, as far as the agent can make it (a failure is final). */
function isConverged(entry: Entry): boolean {
  switch (entry.spec.desired) {
    case "running":
      return entry.observed && (entry.report.state === "running" || entry.report.state === "failed");
    case "stopped":
      return entry.isStopped;
    case "terminated":
      return entry.report.state === "terminated";
  }
}

/** Whether the liveness probe watches the VM now: it runs, should run, and no converge works on it. */
function isProbed(entry: Entry): boolean {
  return entry.report.state === "running" && entry.spec.desired === "running" && !entry.queued && !entry.converging;
}

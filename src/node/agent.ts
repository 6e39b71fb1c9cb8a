// The node agent: long-polls what should run on this host and makes reality match through a driver.
// Level-triggered and idempotent: after any crash, the next pass repairs what is half done.

import { Value } from "typebox/value";
import { SYNC_PATH, SyncResponseSchema, type SyncRequest, type SyncResponse, type VmReport, type VmSpec } from "../core/protocol.js";
import type { Driver } from "./drivers/driver.js";
import { probeSshBanner } from "./liveness.js";

export interface AgentOptions {
  serverUrl: string;
  nodeName: string;
  token: string;
  driver: Driver;
  /** The address clients use to reach this node's forwarded ssh ports. */
  sshHost: string;
  capacity: { memoryMiB: number; cpus: number };
  log: (msg: string, fields?: Record<string, unknown>) => void;
  pollWaitSeconds?: number;
}

interface Entry {
  spec: VmSpec;
  report: VmReport;
  /** Serialises the work on one VM; work on different VMs runs side by side. */
  task: Promise<void>;
  queued: boolean;
  nextProbeAt: number;
}

const PROBE_FAST_MS = 1000;
const PROBE_SLOW_MS = 10_000;

export class Agent {
  private readonly entries = new Map<string, Entry>();
  private version = 0;
  private dirty = true;
  private stopped = false;
  private poll: AbortController | null = null;
  private loopDone: Promise<void> | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private synced = false;
  private readonly onlineWaiters: Array<() => void> = [];

  constructor(private readonly opts: AgentOptions) {}

  start(): void {
    this.loopDone = this.loop();
    this.probeTimer = setInterval(() => void this.probeLiveness(), 500);
  }

  /** Resolves after the first successful sync with the server. */
  online(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.onlineWaiters.push(resolve));
  }

  /** Ends the loop; with stopVms, stops (but keeps) every running VM so a later start can boot them again. */
  async shutdown(stopVms: boolean): Promise<void> {
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.poll?.abort();
    await this.loopDone;
    await Promise.all([...this.entries.values()].map((e) => e.task));
    if (stopVms) {
      await Promise.all(
        [...this.entries.keys()].map((id) =>
          this.opts.driver.stop(id).catch((err: unknown) => this.opts.log("stopping VM failed", { vm: id, err: String(err) })),
        ),
      );
    }
    await this.opts.driver.close();
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      const sent = new Map([...this.entries].map(([id, e]) => [id, e.report] as const));
      const wait = this.dirty || !this.synced ? 0 : (this.opts.pollWaitSeconds ?? 25);
      this.dirty = false;
      let response: SyncResponse;
      try {
        response = await this.sync([...sent.values()], wait);
        backoff = 500;
      } catch (err) {
        if (this.stopped) break;
        if (this.poll?.signal.aborted) continue; // woken up to report a change at once
        this.opts.log("sync with the server failed; retrying", { err: String(err), retryMs: backoff });
        this.dirty = true;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      }
      this.version = response.version;
      await this.apply(response, sent);
      if (!this.synced) {
        this.synced = true;
        for (const resolve of this.onlineWaiters.splice(0)) resolve();
      }
    }
  }

  private async sync(reports: VmReport[], waitSeconds: number): Promise<SyncResponse> {
    this.poll = new AbortController();
    const body: SyncRequest = {
      node: this.opts.nodeName,
      version: this.version,
      waitSeconds,
      sshHost: this.opts.sshHost,
      capacity: this.opts.capacity,
      reports,
    };
    const res = await fetch(new URL(SYNC_PATH, this.opts.serverUrl), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.opts.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.any([this.poll.signal, AbortSignal.timeout((waitSeconds + 15) * 1000)]),
    });
    const json: unknown = await res.json();
    if (!res.ok) throw new Error(`server answered ${res.status}: ${(json as { detail?: string }).detail ?? ""}`);
    if (!Value.Check(SyncResponseSchema, json)) throw new Error("server answered with a malformed sync response");
    return json;
  }

  /** Converges every desired VM, forgets what the server has acknowledged, and removes orphans. */
  private async apply(response: SyncResponse, sent: Map<string, VmReport>): Promise<void> {
    const desired = new Set(response.vms.map((v) => v.id));
    for (const spec of response.vms) {
      const entry = this.entries.get(spec.id);
      if (!entry) {
        const report: VmReport = { id: spec.id, state: "provisioning", responding: false, sshPort: null, ip: null, error: null };
        this.entries.set(spec.id, { spec, report, task: Promise.resolve(), queued: false, nextProbeAt: 0 });
      } else if (entry.spec.desired !== spec.desired) {
        entry.spec = spec;
      } else {
        continue;
      }
      this.enqueue(spec.id);
    }
    for (const [id, entry] of this.entries) {
      // The server no longer lists it and has seen its final report: forget it.
      if (!desired.has(id) && sent.get(id) === entry.report && !entry.queued) {
        if (entry.report.state !== "terminated") {
          entry.spec = { ...entry.spec, desired: "terminated" };
          this.enqueue(id);
        } else {
          this.entries.delete(id);
        }
      }
    }
    await this.removeOrphans(desired);
  }

  private async removeOrphans(desired: Set<string>): Promise<void> {
    let ids: string[];
    try {
      ids = await this.opts.driver.list();
    } catch (err) {
      this.opts.log("listing VMs failed", { err: String(err) });
      return;
    }
    for (const id of ids) {
      if (desired.has(id) || this.entries.has(id)) continue;
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
      await this.converge(entry);
    });
  }

  private async converge(entry: Entry): Promise<void> {
    const { driver, log } = this.opts;
    const { spec } = entry;
    try {
      if (spec.desired === "terminated") {
        await driver.destroy(spec.id);
        this.setReport(entry, { state: "terminated", responding: false, sshPort: null, error: null });
        log("VM terminated", { vm: spec.id });
        return;
      }
      const seen = await driver.inspect(spec.id);
      if (seen?.running) {
        this.setReport(entry, { state: "running", sshPort: seen.sshPort, error: null });
        log("VM adopted", { vm: spec.id, sshPort: seen.sshPort });
        return;
      }
      this.setReport(entry, { state: "provisioning", responding: false, error: null });
      await driver.create(spec);
      if (this.stopped) return;
      const started = await driver.start(spec);
      this.setReport(entry, { state: "running", responding: false, sshPort: started.sshPort, error: null });
      entry.nextProbeAt = 0;
      log("VM running", { vm: spec.id, sshPort: started.sshPort });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log("VM failed", { vm: spec.id, err: reason });
      this.setReport(entry, { state: "failed", responding: false, error: reason });
    }
  }

  private setReport(entry: Entry, change: Partial<VmReport>): void {
    const next = { ...entry.report, ...change };
    if (JSON.stringify(next) === JSON.stringify(entry.report)) return;
    entry.report = next;
    this.wake();
  }

  /** Ends the current long-poll so that the change is reported at once. */
  private wake(): void {
    this.dirty = true;
    this.poll?.abort();
  }

  /** Liveness: a running VM is `responding` once its ssh answers with a banner; QEMU's death is a failure. */
  private async probeLiveness(): Promise<void> {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (entry.report.state !== "running" || entry.spec.desired !== "running" || entry.queued || now < entry.nextProbeAt) continue;
      entry.nextProbeAt = Number.POSITIVE_INFINITY; // one probe at a time per VM
      void this.probeOne(entry);
    }
  }

  private async probeOne(entry: Entry): Promise<void> {
    const { driver } = this.opts;
    try {
      const seen = await driver.inspect(entry.spec.id);
      if (!seen?.running) {
        if (entry.report.state === "running" && entry.spec.desired === "running" && !this.stopped) {
          this.setReport(entry, { state: "failed", responding: false, error: seen?.error ?? "QEMU exited unexpectedly" });
        }
        return;
      }
      const port = seen.sshPort ?? entry.report.sshPort;
      const responding = port !== null && (await probeSshBanner("127.0.0.1", port, 3000));
      if (entry.report.state === "running") this.setReport(entry, { responding, sshPort: port });
      entry.nextProbeAt = Date.now() + (responding ? PROBE_SLOW_MS : PROBE_FAST_MS);
    } catch {
      entry.nextProbeAt = Date.now() + PROBE_FAST_MS;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

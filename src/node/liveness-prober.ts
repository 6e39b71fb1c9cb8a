// Liveness: every VM that runs is asked, every second while it boots and every 10 s once it answers,
// whether its process is still there (the driver) and whether its guest answers ssh (a banner read).
// A process that is gone, or a guest that ended, fails the VM; a silent guest is only `responding: false`.

import type { DesiredState } from "../core/vm-state.js";
import type { VmReport } from "../core/protocol.js";
import type { Clock, Timer } from "./clock.js";
import { decide } from "./decide.js";
import { CONSOLE_HEAD_BYTES, parseHostKeys } from "./host-keys.js";
import type { Driver } from "./drivers/driver.js";
import { probeSshBanner } from "./liveness.js";

/** A VM as the prober sees it: what the server wants and what the agent reports now. */
export interface ProbeTarget {
  id: string;
  desired: DesiredState;
  report: VmReport;
}

export type SshProbe = (host: string, port: number, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;

export interface ProberOptions {
  driver: Pick<Driver, "inspect" | "readConsole" | "guestAnswers">;
  clock: Clock;
  /** Where this node's forwarded ports are reached from the node itself. */
  probeHost: string;
  /** The VMs to probe now: those that run, should run, and have no work queued or running. */
  targets: () => Iterable<ProbeTarget>;
  /** Whether VM `id` is still one to probe (asked again after every wait: the agent may have moved on). */
  isProbed: (id: string) => boolean;
  /** A change to VM `id`'s report. */
  onChange: (id: string, change: Partial<VmReport>) => void;
  /**
   * VM `id` was running and is gone (its QEMU died, its guest ended): the agent fails it or restarts
   * it (restartOnCrash). Without it, the VM is reported failed.
   */
  onCrash?: (id: string, error: string, detail: string | null) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Aborted by the agent's shutdown: ends the driver's answers and the ssh probes in flight. */
  signal: AbortSignal;
  probe?: SshProbe;
}

interface Schedule {
  nextAt: number;
  /** The hypervisor could not say the VM runs at the last probe (logged once, not on every probe). */
  isUnknown: boolean;
  /** Reads of the console for host keys that found none: an image that never prints them is not read forever. */
  keyLooks: number;
}

const TICK_MS = 500;
const PROBE_FAST_MS = 1000;
const PROBE_SLOW_MS = 10_000;
/**
 * While a guest boots, QEMU's user networking accepts the probe's connection but the guest is not
 * there to answer: a short wait lets the next probe try soon. A VM that answered gets longer, so a
 * busy guest is not marked unresponsive for a slow banner.
 */
const PROBE_BOOT_TIMEOUT_MS = 1000;
const PROBE_TIMEOUT_MS = 3000;
/** At most this many looks: two minutes of a booting guest's probes (every second), twenty once it answers. */
const MAX_KEY_LOOKS = 120;
/** The guest's own sshd, where the node reaches the guest by its address. */
const SSH_PORT = 22;

/**
 * Where to knock for the guest's ssh: its own address when the node can reach it there (a bridge),
 * else the port forwarded on the node (user networking), else nowhere yet.
 */
export function probeEndpoint(address: string | null, sshPort: number | null, probeHost: string): { host: string; port: number } | null {
  if (address !== null) return { host: address, port: SSH_PORT };
  if (sshPort !== null) return { host: probeHost, port: sshPort };
  return null;
}

export class LivenessProber {
  private readonly schedules = new Map<string, Schedule>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: Timer | null = null;
  private stopped = false;
  private readonly probe: SshProbe;

  constructor(private readonly opts: ProberOptions) {
    this.probe = opts.probe ?? probeSshBanner;
  }

  start(): void {
    this.timer = this.opts.clock.setTimeout(() => this.tick(), TICK_MS);
  }

  /** Probes VM `id` at the next tick (it has just started). */
  probeSoon(id: string): void {
    const schedule = this.schedules.get(id);
    if (schedule !== undefined && schedule.nextAt !== Number.POSITIVE_INFINITY) schedule.nextAt = 0;
  }

  forget(id: string): void {
    this.schedules.delete(id);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Resolves once no probe is in flight: a probe may still be asking the driver, which must not close before. */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    for (const target of this.opts.targets()) {
      let schedule = this.schedules.get(target.id);
      if (schedule === undefined) {
        schedule = { nextAt: 0, isUnknown: false, keyLooks: 0 };
        this.schedules.set(target.id, schedule);
      }
      if (now < schedule.nextAt) continue;
      schedule.nextAt = Number.POSITIVE_INFINITY; // one probe at a time per VM
      const probe: Promise<void> = this.probeOne(target, schedule).finally(() => this.inFlight.delete(probe));
      this.inFlight.add(probe);
    }
    this.timer = this.opts.clock.setTimeout(() => this.tick(), TICK_MS);
  }

  private async probeOne(target: ProbeTarget, schedule: Schedule): Promise<void> {
    const { driver, log, signal } = this.opts;
    const { id, report } = target;
    let nextInMs = PROBE_FAST_MS;
    try {
      const seen = await driver.inspect(id, signal);
      if (this.stopped || !this.opts.isProbed(id)) return;
      const action = decide({ desired: target.desired, reported: report.state, isStopped: false, seen, unsupportedBoot: null });
      if (action.kind === "crashed" && this.opts.onCrash) {
        this.opts.onCrash(id, action.error, action.detail);
        return;
      }
      if (action.kind === "report-failed" || action.kind === "crashed") {
        log("VM failed", { vm: id, err: action.error, detail: action.detail });
        this.opts.onChange(id, { state: "failed", responding: false, error: action.error, detail: action.detail });
        return;
      }
      if (seen === undefined) return;
      if (seen.state === "unknown" && !schedule.isUnknown) {
        log("VM's process is alive but the hypervisor does not say it runs; not failing it", { vm: id, why: seen.detail });
      }
      schedule.isUnknown = seen.state === "unknown";
      const sshPort = seen.sshPort ?? report.sshPort;
      const ip = seen.address ?? report.ip;
      const endpoint = probeEndpoint(ip, sshPort, this.opts.probeHost);
      const timeoutMs = report.responding ? PROBE_TIMEOUT_MS : PROBE_BOOT_TIMEOUT_MS;
      const responding = driver.guestAnswers
        ? await driver.guestAnswers(id, signal)
        : endpoint !== null && (await this.probe(endpoint.host, endpoint.port, timeoutMs, signal));
      // The host keys the guest printed at boot (tiny's before its sshd starts, cloud-init's at the end
      // of its boot), looked for until found, for a bounded number of probes.
      let hostKeys = report.sshHostKeys ?? [];
      if (hostKeys.length === 0 && schedule.keyLooks < MAX_KEY_LOOKS) {
        const head = await driver.readConsole(id, null, CONSOLE_HEAD_BYTES, signal);
        hostKeys = parseHostKeys(head?.bytes.toString("utf8") ?? "");
        if (hostKeys.length === 0) schedule.keyLooks++;
      }
      if (this.stopped || !this.opts.isProbed(id)) return;
      this.opts.onChange(id, { responding, sshPort, ip, ...(hostKeys.length > 0 ? { sshHostKeys: hostKeys } : {}) });
      if (responding && seen.state === "running") nextInMs = PROBE_SLOW_MS;
    } catch {
      // The driver could not look (a transient error, or the agent shutting down): look again soon.
    } finally {
      schedule.nextAt = this.opts.clock.now() + nextInMs;
    }
  }
}

// The control plane's periodic work (marking silent nodes offline, the policy pass, dropping old sessions), run
// on exactly one replica at a time: each tick, the replica takes or renews the `periodic` lease and
// runs the jobs only while it holds it. A replica that dies stops renewing; the lease lapses after a
// few ticks and another replica's next tick takes it over.

import type { ServerContext } from "../context.js";
import { holdLease, releaseLease } from "../store/leases.js";

export interface PeriodicJob {
  /** For the log. */
  name: string;
  /** Its own pace, when slower than the ticks ([policy] interval): it runs at the first tick that far after its last run. */
  everyMs?: (ctx: ServerContext) => number;
  run(ctx: ServerContext, now: Date): Promise<void>;
}

export const LEASE = "periodic";
/** A lease lasts three ticks: one late tick (a busy replica) does not hand the work over. */
const TICKS_PER_LEASE = 3;

export class PeriodicJobs {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private holding = false;
  /** When each paced job last ran (by the server's clock). */
  private readonly lastRun = new Map<string, number>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly jobs: readonly PeriodicJob[],
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Stops ticking, waits for a tick in flight, and gives the lease up for the next replica. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (this.holding) await releaseLease(this.ctx.db, LEASE, this.ctx.replica).catch(() => undefined);
  }

  /** One tick now (tests, and the next scheduled one): resolves when its jobs are done. */
  async tick(): Promise<void> {
    const { ctx } = this;
    const now = ctx.now();
    let holds: boolean;
    try {
      holds = await holdLease(ctx.db, LEASE, ctx.replica, now, this.intervalMs * TICKS_PER_LEASE);
    } catch (err) {
      ctx.log.warn({ err: String(err) }, "cannot take the periodic work's lease (the store?); trying again at the next tick");
      return;
    }
    if (holds !== this.holding) ctx.log.info({ replica: ctx.replica }, holds ? "this replica runs the periodic work" : "another replica runs the periodic work");
    this.holding = holds;
    if (!holds) return;
    for (const job of this.jobs) {
      const last = this.lastRun.get(job.name);
      if (job.everyMs !== undefined && last !== undefined && now.getTime() - last < job.everyMs(ctx)) continue;
      this.lastRun.set(job.name, now.getTime());
      try {
        await job.run(ctx, now);
      } catch (err) {
        ctx.log.error({ job: job.name, err: String(err) }, `periodic job ${job.name} failed; it runs again at the next tick`);
      }
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = null;
        this.schedule(this.intervalMs);
      });
    }, ms);
  }
}

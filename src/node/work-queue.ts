// The agent's work on VMs: serialised per VM (one converge pass at a time for a VM), side by side
// across VMs, with a per-VM retry back-off (2 s, doubling to 60 s) that resets once the VM settles.
// A retry is not run by the queue itself: when one falls due it asks to be woken (`onRetryDue`), so
// that the agent retries with what the server wants now (level-triggered).

import type { Clock, Timer } from "./clock.js";

/** One pass of work on a VM; resolves true once the VM is as wanted (no retry needed). */
export type Work = () => Promise<boolean>;

export interface WorkQueueOptions {
  clock: Clock;
  /** Called when the earliest retry asked for falls due. */
  onRetryDue: () => void;
  firstRetryMs?: number;
  maxRetryMs?: number;
}

interface Slot {
  /** The chain of passes on this VM: a new pass runs after the one before. */
  task: Promise<void>;
  queued: boolean;
  running: boolean;
  /** An unsettled VM is retried no sooner than this (ms since the epoch). */
  retryAt: number;
  retryDelayMs: number;
}

/** A failing step (a destroy that cannot delete, a silent QEMU) is retried after 2 s, 4 s, ... 60 s. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;

export class WorkQueue {
  private readonly slots = new Map<string, Slot>();
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private stopped = false;
  private timer: Timer | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly opts: WorkQueueOptions) {
    this.firstRetryMs = opts.firstRetryMs ?? RETRY_FIRST_MS;
    this.maxRetryMs = opts.maxRetryMs ?? RETRY_MAX_MS;
  }

  /** Queues one pass of `work` on VM `id`, after any pass already running; once if called twice. */
  enqueue(id: string, work: Work): void {
    const slot = this.slot(id);
    if (slot.queued || this.stopped) return;
    slot.queued = true;
    slot.task = slot.task.then(async () => {
      slot.queued = false;
      if (this.stopped) return;
      slot.running = true;
      let settled = false;
      try {
        settled = await work();
      } catch {
        // Work reports its own failures; one that throws is simply not settled.
      } finally {
        slot.running = false;
      }
      if (this.stopped || slot.queued) return;
      if (settled) {
        this.resetBackoff(id);
      } else {
        slot.retryAt = this.opts.clock.now() + slot.retryDelayMs;
        slot.retryDelayMs = Math.min(slot.retryDelayMs * 2, this.maxRetryMs);
        this.wakeAt(slot.retryAt);
      }
    });
  }

  /** Queues `work` if the VM is idle and its retry is due; if not due yet, asks to be woken then. */
  retryWhenDue(id: string, work: Work): void {
    const slot = this.slot(id);
    if (slot.queued || slot.running) return;
    if (this.opts.clock.now() >= slot.retryAt) this.enqueue(id, work);
    else this.wakeAt(slot.retryAt);
  }

  /** Forgets a VM's failures: what the server wants changed, so the next pass is a first try. */
  resetBackoff(id: string): void {
    const slot = this.slot(id);
    slot.retryAt = 0;
    slot.retryDelayMs = this.firstRetryMs;
  }

  /** Whether a pass on VM `id` is queued or running. */
  isBusy(id: string): boolean {
    const slot = this.slots.get(id);
    return slot !== undefined && (slot.queued || slot.running);
  }

  /** When VM `id` may be retried next, and the delay after that (for tests and logs). */
  backoff(id: string): { retryAt: number; nextDelayMs: number } {
    const slot = this.slot(id);
    return { retryAt: slot.retryAt, nextDelayMs: slot.retryDelayMs };
  }

  /** Drops an idle VM's state (the agent forgot the VM). */
  forget(id: string): void {
    if (!this.isBusy(id)) this.slots.delete(id);
  }

  /** Runs no new pass from now on and cancels the retry timer; passes already running finish. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** Resolves once every pass queued or running has ended. */
  async drain(): Promise<void> {
    await Promise.all([...this.slots.values()].map((slot) => slot.task));
  }

  private slot(id: string): Slot {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = { task: Promise.resolve(), queued: false, running: false, retryAt: 0, retryDelayMs: this.firstRetryMs };
      this.slots.set(id, slot);
    }
    return slot;
  }

  /** One timer, for the earliest retry asked for: a retry need not wait for the next long-poll answer. */
  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.opts.onRetryDue();
    }, Math.max(0, at - this.opts.clock.now()));
  }
}

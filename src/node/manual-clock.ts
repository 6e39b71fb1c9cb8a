// A clock that moves only when told: the agent's queue, prober and sync loop run on it in unit tests,
// where a 60 s back-off passes in a call rather than a minute.

import type { Clock, Timer } from "./clock.js";

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.add(entry);
    return { cancel: () => this.pending.delete(entry) };
  }

  /** How many timers wait. */
  get timers(): number {
    return this.pending.size;
  }

  /**
   * Moves time on by `ms`, firing every timer that falls due on the way, in order; between timers,
   * what they set going (promise callbacks, I/O of fakes) runs, as it would between real timers.
   */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      const next = [...this.pending].filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.pending.delete(next);
      this.time = next.at;
      next.fn();
    }
    this.time = target;
    await settle();
  }
}

/** Lets promise callbacks and immediate I/O run to quiet. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

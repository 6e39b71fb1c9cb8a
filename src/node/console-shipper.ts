// The guests' serial consoles, shipped to the server a bounded chunk at a time: what each VM's console
// gained since the position the server last acknowledged (in the sync's answer), so that a retried
// sync sends the same bytes again (the server keeps them once) and a restarted agent goes on from
// where the server is. Between syncs it watches the running VMs' consoles and wakes a waiting
// long-poll when one has grown, so that a boot shows up as it happens.

import { MAX_CONSOLE_BYTES_PER_SYNC, MAX_CONSOLE_CHUNK_BYTES, type ConsoleChunk, type ConsolePlace, type SyncResponse } from "../core/protocol.js";
import type { Clock, Timer } from "./clock.js";
import type { Driver } from "./drivers/driver.js";

export interface ConsoleShipperOptions {
  driver: Pick<Driver, "readConsole">;
  clock: Clock;
  /** The VMs whose consoles may have grown since the last look: those that run. */
  watched: () => Iterable<string>;
  /** Whether the sync loop waits in a long-poll now: only that wait is worth cutting short. */
  isLongPolling: () => boolean;
  /** Cuts the long-poll short: a console has new bytes. */
  wake: () => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Aborted by the agent's shutdown. */
  signal: AbortSignal;
}

/** How often running VMs' consoles are looked at while the agent long-polls: a boot log lags this much. */
const WATCH_MS = 2000;

export class ConsoleShipper {
  /** Where the server's copy of each VM's console ends, as its last answer said; absent: it has none. */
  private readonly known = new Map<string, ConsolePlace>();
  /** Which VM goes first in the next sync: each takes its turn, so one chatty guest cannot starve the others. */
  private turn = 0;
  /** VMs whose console could not be read, logged once until it can be again. */
  private readonly unreadable = new Set<string>();
  private timer: Timer | null = null;
  /** The look in progress: it may be asking the driver, which must not close before it is done. */
  private watching: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: ConsoleShipperOptions) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Resolves once no look at a console is in progress. */
  drain(): Promise<void> {
    return this.watching;
  }

  /**
   * The chunks for the next sync, of the VMs `ids`: each VM's bytes after the server's position, at
   * most MAX_CONSOLE_CHUNK_BYTES each and MAX_CONSOLE_BYTES_PER_SYNC in all. Never throws.
   */
  async chunks(ids: readonly string[]): Promise<ConsoleChunk[]> {
    const chunks: ConsoleChunk[] = [];
    let budget = MAX_CONSOLE_BYTES_PER_SYNC;
    const first = ids.length === 0 ? 0 : this.turn++ % ids.length;
    for (const id of [...ids.slice(first), ...ids.slice(0, first)]) {
      if (budget === 0 || this.opts.signal.aborted) break;
      const read = await this.read(id, Math.min(budget, MAX_CONSOLE_CHUNK_BYTES));
      if (read === null || read.bytes.length === 0) continue;
      budget -= read.bytes.length;
      chunks.push({ id, stream: read.stream, offset: read.offset, data: read.bytes.toString("base64") });
    }
    return chunks;
  }

  /** Takes in where the server's copy of each console ends, from its answer to a sync that carried `consoles`. */
  take(response: SyncResponse): void {
    if (response.consoles === undefined) return;
    const positions = new Map(response.consoles.map((p) => [p.id, { stream: p.stream, offset: p.offset }]));
    this.known.clear();
    for (const vm of response.vms) {
      const position = positions.get(vm.id);
      if (position !== undefined) this.known.set(vm.id, position);
    }
  }

  forget(id: string): void {
    this.known.delete(id);
    this.unreadable.delete(id);
  }

  private async read(id: string, maxBytes: number) {
    try {
      const read = await this.opts.driver.readConsole(id, this.known.get(id) ?? null, maxBytes, this.opts.signal);
      this.unreadable.delete(id);
      return read;
    } catch (err) {
      if (!this.opts.signal.aborted && !this.unreadable.has(id)) {
        this.opts.log("reading the VM's console failed; its log waits until it can be read", { vm: id, err: String(err) });
        this.unreadable.add(id);
      }
      return null;
    }
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimeout(() => {
      this.watching = this.watch().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, WATCH_MS);
  }

  /** Wakes a waiting long-poll when a running VM's console holds bytes the server has not heard of. */
  private async watch(): Promise<void> {
    if (this.stopped || !this.opts.isLongPolling()) return;
    for (const id of this.opts.watched()) {
      const read = await this.read(id, 0);
      if (this.stopped) return;
      if (read !== null && read.size > read.offset) {
        this.opts.wake();
        return;
      }
    }
  }
}

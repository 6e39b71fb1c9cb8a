// Notifications: a node's long-poll wakes when what should run on its host changes, and event streams
// (SSE) hear of every VM that changed; on this server at once, and on the other replicas through the
// bus when there is one (PostgreSQL's LISTEN/NOTIFY, bus.ts).

import { EventEmitter } from "node:events";
import type { Vm } from "../../core/api.js";
import type { Bus, BusMessage } from "./bus.js";

export class Hub {
  private readonly emitter = new EventEmitter();
  private closingNow = false;
  private watches = 0;
  private bus: Bus | undefined;
  private loadVm: ((id: string) => Promise<Vm | undefined>) | undefined;

  constructor() {
    // One listener per waiting long-poll: many nodes may wait at once.
    this.emitter.setMaxListeners(0);
  }

  /** Tells the other replicas too, from now on; `loadVm` reads a VM another replica changed. */
  connect(bus: Bus, loadVm: (id: string) => Promise<Vm | undefined>): void {
    this.bus = bus;
    this.loadVm = loadVm;
  }

  /** A change another replica made. */
  receive(message: BusMessage): void {
    if (message.kind === "host") {
      this.emitter.emit(`host:${message.host}`);
    } else if (this.emitter.listenerCount("vm") > 0) {
      // Read only when someone listens: the message is an id, the store has the VM as it is now.
      void this.loadVm?.(message.id).then(
        (vm) => vm && this.emitter.emit("vm", vm),
        () => undefined,
      );
    }
  }

  /** The bus was away and is back: whatever it missed, every waiting long-poll reads again. */
  wakeAll(): void {
    this.emitter.emit("closing-or-missed");
  }

  publishVm(vm: Vm): void {
    this.emitter.emit("vm", vm);
    this.bus?.send({ kind: "vm", id: vm.id });
  }

  /** Calls `listener` with every VM that changes; returns the function that stops it. */
  onVm(listener: (vm: Vm) => void): () => void {
    this.emitter.on("vm", listener);
    return () => this.emitter.off("vm", listener);
  }

  /** The server is closing: every long-poll waiting now ends at once (its node then retries). */
  close(): void {
    this.closingNow = true;
    this.emitter.emit("closing-or-missed");
  }

  get closing(): boolean {
    return this.closingNow;
  }

  /** Host watches begun and not yet cancelled: a long-poll holds one while it waits. */
  get openWatches(): number {
    return this.watches;
  }

  notifyHost(host: string): void {
    this.emitter.emit(`host:${host}`);
    this.bus?.send({ kind: "host", host });
  }

  /**
   * Starts listening for the host's notifications now, before the caller reads what it may wait on,
   * so that a notification in between is not lost: `wait` then resolves at once. Call `cancel` when
   * done (waiting or not) so that no listener is left behind.
   */
  watchHost(host: string): HostWatch {
    const event = `host:${host}`;
    let notified = false;
    let wake: (() => void) | undefined;
    const listener = () => {
      notified = true;
      wake?.();
    };
    this.emitter.on(event, listener);
    this.emitter.on("closing-or-missed", listener);
    this.watches++;
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return; // released once, however often it is called
      cancelled = true;
      this.watches--;
      this.emitter.off(event, listener);
      this.emitter.off("closing-or-missed", listener);
      wake?.();
    };
    const wait = (ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve) => {
        if (notified || signal?.aborted === true) {
          resolve();
          return;
        }
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done);
        wake = done;
      });
    return { wait, cancel };
  }
}

/** A subscription to one host's notifications, from `Hub.watchHost`. */
export interface HostWatch {
  /** Resolves once the host was notified since the watch began, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  /** Stops listening and ends a wait in progress. */
  cancel(): void;
}

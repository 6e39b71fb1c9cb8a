// In-process notifications: a node's long-poll wakes when what should run on its host changes, and
// event streams (SSE) hear of every VM that changed.

import { EventEmitter } from "node:events";
import type { Vm } from "../../core/api.js";

export class Hub {
  private readonly emitter = new EventEmitter();
  private closingNow = false;

  constructor() {
    // One listener per waiting long-poll: many nodes may wait at once.
    this.emitter.setMaxListeners(0);
  }

  publishVm(vm: Vm): void {
    this.emitter.emit("vm", vm);
  }

  /** Calls `listener` with every VM that changes; returns the function that stops it. */
  onVm(listener: (vm: Vm) => void): () => void {
    this.emitter.on("vm", listener);
    return () => this.emitter.off("vm", listener);
  }

  /** The server is closing: every long-poll waiting now ends at once (its node then retries). */
  close(): void {
    this.closingNow = true;
    this.emitter.emit("closing");
  }

  get closing(): boolean {
    return this.closingNow;
  }

  notifyHost(host: string): void {
    this.emitter.emit(`host:${host}`);
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
    this.emitter.on("closing", listener);
    const cancel = () => {
      this.emitter.off(event, listener);
      this.emitter.off("closing", listener);
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

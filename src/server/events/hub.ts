// In-process notifications: a node's long-poll wakes when what should run on its host changes, and
// event streams (SSE) hear of every VM that changed.

import { EventEmitter } from "node:events";
import type { Vm } from "../../core/vm.js";

export class Hub {
  private readonly emitter = new EventEmitter();

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

  notifyHost(host: string): void {
    this.emitter.emit(`host:${host}`);
  }

  /** Resolves when the host is notified or after `ms`, whichever comes first; `signal` ends the wait early. */
  waitForHost(host: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(`host:${host}`, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.on(`host:${host}`, done);
      signal?.addEventListener("abort", done);
    });
  }
}

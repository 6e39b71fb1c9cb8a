// In-process notifications: a node's long-poll wakes when what should run on its host changes.

import { EventEmitter } from "node:events";

export class Hub {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting long-poll: many nodes may wait at once.
    this.emitter.setMaxListeners(0);
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

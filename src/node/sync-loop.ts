// The node's half of the long-poll: sends this run's reports (and the consoles' new bytes), waits for
// what the server wants, hands the answer to the agent, and knows when the node is online. One request
// at a time; `wake` cuts a waiting long-poll short so that a change is reported at once. The server is
// retried with a back-off.

import type { ConsoleChunk, SyncRequest, SyncResponse, VmReport } from "../core/protocol.js";
import { sleep, type Clock } from "./clock.js";

export interface SyncHandler {
  /** The reports the server should hear now, by VM id (only what this run has observed). */
  reports(): Map<string, VmReport>;
  /** The consoles' new bytes the server should hear now (console-shipper.ts); never rejects. */
  consoles(): Promise<ConsoleChunk[]>;
  /** Whether the agent has had its first look at every VM that the server wants running. */
  hasLookedAtAll(): boolean;
  /** Takes in the server's answer to a request that carried the reports `sent`. */
  apply(response: SyncResponse, sent: ReadonlyMap<string, VmReport>): Promise<void>;
}

export interface SyncLink {
  /** Rejects with `RateLimited` when the server asks the node to slow down, with any other error when it cannot sync. */
  sync(body: SyncRequest, waitSeconds: number, signal: AbortSignal): Promise<SyncResponse>;
}

/** The server answered, but asks this node to wait before its next sync (a 429 and its Retry-After). */
export class RateLimited extends Error {
  constructor(
    /** How long the server asked to wait, or undefined when it did not say. */
    readonly retryAfterMs: number | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

export interface SyncLoopOptions {
  link: SyncLink;
  /** What every request says of the node. */
  node: Pick<SyncRequest, "node" | "sshHost" | "facts">;
  handler: SyncHandler;
  clock: Clock;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  pollWaitSeconds?: number;
}

const POLL_WAIT_SECONDS = 25;
/**
 * A sync that carries console bytes waits this long at most, then the next one carries what came
 * meanwhile: a chatty guest's console reaches the server a chunk a second, and costs a sync a second.
 */
const CONSOLE_WAIT_SECONDS = 1;
const RETRY_FIRST_MS = 500;
/** Also the longest a server's Retry-After is obeyed: well under nodeOfflineAfterSeconds (30 s at least). */
const RETRY_MAX_MS = 10_000;

export class SyncLoop {
  private version = 0;
  private dirty = true;
  private stopped = false;
  /** The sync request in flight; only one that waits (a long-poll) may be cut short by `wake`. */
  private poll: { abort: AbortController; waiting: boolean } | null = null;
  private done: Promise<void> | null = null;
  /** Aborted by stop: ends a back-off sleep at once. */
  private readonly stopping = new AbortController();
  /** The server has answered once. */
  private responded = false;
  /** The server has heard this node's first look at every VM it should run: the node is online. */
  private synced = false;
  private readonly onlineWaiters: Array<() => void> = [];
  /** Whether the last request reached the server: null before the first one. Its changes are logged. */
  private reachable: boolean | null = null;
  private lostAt = 0;
  /** The server is slowing this node down (429s since the last answer); logged when it starts. */
  private limited = false;

  constructor(private readonly opts: SyncLoopOptions) {}

  start(): void {
    this.done = this.run();
  }

  /**
   * Resolves once the server has heard this node's first look at every VM it should run: from then
   * on, what the server shows of them is this run's truth, not what the previous run left.
   */
  online(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.onlineWaiters.push(resolve));
  }

  /** Whether a long-poll is waiting for the server now (one that `wake` would cut short). */
  isLongPolling(): boolean {
    return this.poll?.waiting === true;
  }

  /**
   * Reports a change at once: ends a long-poll that is waiting; a request already on its way is left
   * to finish, and so is one that carries console bytes (it waits a second at most): cut short, its
   * answer, which says how much of them the server took, would be lost.
   */
  wake(): void {
    this.dirty = true;
    if (this.poll?.waiting === true) this.poll.abort.abort();
  }

  /** Ends the loop: the request in flight is aborted; resolves once the loop (and any `apply`) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.poll?.abort.abort();
    this.stopping.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    const { handler, log } = this.opts;
    let backoff = RETRY_FIRST_MS;
    while (!this.stopped) {
      // The consoles are read first: the reports, the wait and `dirty` are then taken in one go, so
      // that a change woken about while the consoles are read is in this request or makes the next.
      const consoles = await handler.consoles();
      const sent = handler.reports();
      const complete = this.responded && handler.hasLookedAtAll();
      const pollWait = this.opts.pollWaitSeconds ?? POLL_WAIT_SECONDS;
      // Before the first answer there is nothing to wait for; later, a first look ends the wait (wake).
      const wait = this.dirty || !this.responded ? 0 : consoles.length > 0 ? Math.min(CONSOLE_WAIT_SECONDS, pollWait) : pollWait;
      this.dirty = false;
      const poll = { abort: new AbortController(), waiting: wait > 0 && consoles.length === 0 };
      this.poll = poll;
      let response: SyncResponse;
      try {
        const body: SyncRequest = { ...this.opts.node, version: this.version, waitSeconds: wait, reports: [...sent.values()], consoles };
        response = await this.opts.link.sync(body, wait, poll.abort.signal);
        backoff = RETRY_FIRST_MS;
        this.limited = false;
        if (this.reachable !== true) {
          if (this.reachable === null) log("connected to the server", { node: this.opts.node.node });
          else log("the server answers again", { downSeconds: Math.round((this.opts.clock.now() - this.lostAt) / 1000) });
          this.reachable = true;
        }
      } catch (err) {
        if (this.stopped) break;
        if (poll.abort.signal.aborted) continue; // woken up to report a change at once
        if (err instanceof RateLimited) {
          // Not a lost server: it answers and asks for a pause. Wait what it says, within bounds (a
          // missing or zero Retry-After must not make a loop, an hour must not take the node offline).
          const pauseMs = Math.min(Math.max(err.retryAfterMs ?? RETRY_FIRST_MS, RETRY_FIRST_MS), RETRY_MAX_MS);
          if (!this.limited) log("the server limits this node's syncs; waiting as it asks", { err: err.message, retryMs: pauseMs });
          this.limited = true;
          this.dirty = true;
          await sleep(this.opts.clock, pauseMs, this.stopping.signal);
          continue;
        }
        if (this.reachable !== false) {
          log(this.reachable === null ? "cannot reach the server yet; retrying until it answers" : "lost the server; retrying until it answers again", { err: String(err) });
          this.reachable = false;
          this.lostAt = this.opts.clock.now();
        }
        log("sync with the server failed; retrying", { err: String(err), retryMs: backoff });
        this.dirty = true;
        await sleep(this.opts.clock, backoff, this.stopping.signal);
        backoff = Math.min(backoff * 2, RETRY_MAX_MS);
        continue;
      } finally {
        this.poll = null;
      }
      this.version = response.version;
      this.responded = true;
      await handler.apply(response, sent);
      if (!this.synced && complete) {
        this.synced = true;
        for (const resolve of this.onlineWaiters.splice(0)) resolve();
      } else if (!this.synced && handler.hasLookedAtAll()) {
        this.dirty = true; // nothing left to look at: tell the server so at once
      }
    }
  }
}

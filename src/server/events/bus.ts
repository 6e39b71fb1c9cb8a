// Replicas of one control plane hear each other's changes through PostgreSQL's LISTEN/NOTIFY: a node's
// long-poll and a browser's event stream wake on whichever replica they are connected to when the
// change was made on another. Messages carry ids only (NOTIFY payloads are small): what changed is
// read from the store. A message lost while the listener reconnects costs only latency: long-polls end
// by themselves and re-read, and every waiting long-poll is woken once the listener is back.

import pg from "pg";
import type { Logger } from "pino";

export type BusMessage = { kind: "host"; host: string } | { kind: "vm"; id: string };

export interface Bus {
  /** Tells the other replicas (not this one) of a change. */
  send(message: BusMessage): void;
  close(): Promise<void>;
}

const CHANNEL = "vgrid_events";
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 15_000;

interface Envelope {
  from: string;
  m: BusMessage;
}

export class PostgresBus implements Bus {
  private listener: pg.Client | null = null;
  private closed = false;
  private retryMs = RECONNECT_FIRST_MS;
  private retryTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly url: string,
    private readonly replica: string,
    private readonly pool: pg.Pool,
    private readonly handlers: { onMessage: (message: BusMessage) => void; onReconnect: () => void },
    private readonly log: Logger,
  ) {}

  /** Listens now (so that nothing sent after start is missed); the handlers hear other replicas' messages. */
  static async start(
    url: string,
    replica: string,
    handlers: { onMessage: (message: BusMessage) => void; onReconnect: () => void },
    log: Logger,
  ): Promise<PostgresBus> {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on("error", () => undefined);
    const bus = new PostgresBus(url, replica, pool, handlers, log);
    await bus.listen();
    return bus;
  }

  send(message: BusMessage): void {
    if (this.closed) return;
    const payload = JSON.stringify({ from: this.replica, m: message } satisfies Envelope);
    // Fire and forget: a lost message costs latency, never correctness.
    this.pool.query("select pg_notify($1, $2)", [CHANNEL, payload]).catch((err: unknown) => {
      this.log.warn({ err: String(err) }, "cannot tell the other replicas of a change; they will see it at their next read");
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
    await this.pool.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (n) => this.receive(n.payload));
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.listener = client;
    this.retryMs = RECONNECT_FIRST_MS;
  }

  private receive(payload: string | undefined): void {
    try {
      const envelope = JSON.parse(payload ?? "") as Envelope;
      if (envelope.from === this.replica) return;
      const m = envelope.m;
      if ((m.kind === "host" && typeof m.host === "string") || (m.kind === "vm" && typeof m.id === "string")) this.handlers.onMessage(m);
    } catch {
      // not one of ours
    }
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = null;
    this.log.warn({ retryMs: this.retryMs }, "lost the other replicas' change notices; reconnecting");
    const retry = () => {
      this.retryTimer = null;
      if (this.closed) return;
      this.listen().then(
        () => {
          this.log.info("hearing the other replicas' changes again");
          this.handlers.onReconnect();
        },
        () => {
          this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
          this.retryTimer = setTimeout(retry, this.retryMs);
        },
      );
    };
    this.retryTimer = setTimeout(retry, this.retryMs);
  }
}

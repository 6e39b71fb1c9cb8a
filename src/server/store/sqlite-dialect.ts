// Kysely's SQLite dialect with a fair lock on its one connection. Kysely's own lock wakes every
// waiter at each release (each then waits again): with dozens of requests waiting, most of a
// server's time went to those wake-ups. Here waiters queue, and a release wakes the next one only.
//
// Another process (`vgrid token create`) may hold the file's write lock. better-sqlite3 is synchronous:
// SQLite's own busy_timeout would wait for it with the whole event loop stopped. The store is opened
// with no busy timeout instead, and this driver waits here, yielding: a transaction begins IMMEDIATE
// (it takes the write lock first, so that it never has to give up halfway on a snapshot another
// process made stale), and the begin, or a statement outside a transaction, is tried again with
// backoff for BUSY_WAIT_MS; then the error goes on, and the request is a 503 store-unavailable.

import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type SqliteDialectConfig,
  type DatabaseIntrospector,
} from "kysely";

/** SQLite still has one connection: this driver serialises its users itself (FairSqliteDriver). */
class OneConnectionAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** How long a statement waits for another process's write lock before the store counts as unavailable. */
export const BUSY_WAIT_MS = 3000;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/** Runs `attempt` until it is not refused as busy, pausing between tries (2 ms doubling to 100 ms), for `budgetMs` at most. */
export async function retryWhileBusy<T>(
  attempt: () => Promise<T>,
  budgetMs = BUSY_WAIT_MS,
  pause: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => number = Date.now,
): Promise<T> {
  const deadline = now() + budgetMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err) || now() + wait > deadline) throw err;
      await pause(wait);
    }
  }
}

/** Hands the one connection to one caller at a time, in the order they asked. */
class FairSqliteDriver extends SqliteDriver {
  private readonly waiting: Array<() => void> = [];
  private busy = false;
  /** Inside a transaction the write lock is held: its statements are not retried (nor need to be). */
  private inTransaction = false;
  private connection: DatabaseConnection | undefined;

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
    if (this.connection === undefined) {
      const inner = await super.acquireConnection();
      this.connection = {
        executeQuery: (query) => (this.inTransaction ? inner.executeQuery(query) : retryWhileBusy(() => inner.executeQuery(query))),
        streamQuery: (query, chunkSize) => inner.streamQuery(query, chunkSize),
      };
    }
    return this.connection;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    this.inTransaction = true;
    try {
      await retryWhileBusy(() => connection.executeQuery(CompiledQuery.raw("begin immediate")));
    } catch (err) {
      this.inTransaction = false;
      throw err;
    }
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.commitTransaction(connection);
    } finally {
      this.inTransaction = false;
    }
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } finally {
      this.inTransaction = false;
    }
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    const next = this.waiting.shift();
    if (next) next(); // the connection passes on, still busy
    else this.busy = false;
  }
}

export class FairSqliteDialect implements Dialect {
  constructor(private readonly config: SqliteDialectConfig) {}

  createDriver(): Driver {
    return new FairSqliteDriver(this.config);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new OneConnectionAdapter();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

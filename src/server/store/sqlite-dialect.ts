// Kysely's SQLite dialect with a fair lock on its one connection. Kysely's own lock wakes every
// waiter at each release (each then waits again): with dozens of requests waiting, most of a
// server's time went to those wake-ups. Here waiters queue, and a release wakes the next one only.

import {
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

/** Hands the one connection to one caller at a time, in the order they asked. */
class FairSqliteDriver extends SqliteDriver {
  private readonly waiting: Array<() => void> = [];
  private busy = false;

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
    return super.acquireConnection();
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

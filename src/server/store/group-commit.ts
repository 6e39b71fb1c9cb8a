// Writes in groups on SQLite: the changes that arrive while one transaction runs are applied together
// in the next one, each in a savepoint of its own, so that one commit (SQLite's costliest step, a
// write to the WAL) serves many requests. A change that fails rolls back to its savepoint and fails
// alone; the others commit. Each change still sees every change before it, in order. On PostgreSQL,
// where transactions run side by side, each change is its own transaction.

import { sql } from "kysely";
import { isPostgres, type Db, type DbOrTx } from "./db.js";

/** At most this many changes per commit: bounds the wait of the last one in a group. */
const GROUP_MAX = 64;

interface Pending {
  work: (tx: DbOrTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  /** Runs `work` in a transaction (shared with others on SQLite); resolves once it has committed. */
  run<T>(work: (tx: DbOrTx) => Promise<T>): Promise<T> {
    if (isPostgres(this.db)) return this.db.transaction().execute(work);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.kick();
    });
  }

  /**
   * Drains the queue unless a drain runs. A change asked for as the drain ends (by the code a group's
   * answer wakes, before the drain's own promise settles) is drained next, never left waiting.
   */
  private kick(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, GROUP_MAX);
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        await this.db.transaction().execute(async (tx) => {
          for (const item of group) {
            await sql`savepoint change`.execute(tx);
            try {
              const value = await item.work(tx);
              await sql`release savepoint change`.execute(tx);
              outcomes.push({ ok: true, value });
            } catch (error) {
              await sql`rollback to savepoint change`.execute(tx);
              await sql`release savepoint change`.execute(tx);
              outcomes.push({ ok: false, error });
            }
          }
        });
      } catch (error) {
        // The commit itself failed (a full disk): nothing of the group was written.
        for (const item of group) item.reject(error);
        continue;
      }
      group.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    }
  }
}

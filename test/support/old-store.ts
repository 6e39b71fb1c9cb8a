// Upgrade tests: a store as an older vgrid left it (migrated up to a named migration, written with
// Kysely<any> as the migrations themselves are), and the same store opened by this version.

import assert from "node:assert/strict";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { Migrator } from "kysely/migration";
import pg from "pg";
import { openStore, type Db } from "../../src/server/store/db.js";
import { migrationProvider } from "../../src/server/store/migrations.js";
import type { Dialect } from "./server.js";

/** Where a test's store is: its SQLite file in `dir`, or its PostgreSQL database's URL (testDatabase). */
export interface StorePlace {
  dialect: Dialect;
  dir: string;
  url?: string | undefined;
}

/** The store migrated up to `upTo` only, for the test to fill as that version would have. */
export async function oldStore(place: StorePlace, upTo: string): Promise<Kysely<any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const old =
    place.dialect === "sqlite"
      ? new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(join(place.dir, "vgrid.db")) }) }) // eslint-disable-line @typescript-eslint/no-explicit-any
      : new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: place.url }) }) }); // eslint-disable-line @typescript-eslint/no-explicit-any
  const migrated = await new Migrator({ db: old, provider: migrationProvider }).migrateTo(upTo);
  assert.equal(migrated.error, undefined, String(migrated.error));
  return old;
}

/** The same store opened by this version: migrated to the latest. */
export function currentStore(place: StorePlace): Promise<Db> {
  return openStore(place.dialect === "sqlite" ? { kind: "sqlite", file: join(place.dir, "vgrid.db") } : { kind: "postgres", url: place.url! });
}

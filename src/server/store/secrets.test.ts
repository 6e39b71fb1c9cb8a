// Secrets' keyed hashes, on SQLite and on PostgreSQL: a store's hashes are its own, and the tokens and
// node secrets hashed before the key existed (plain sha256, vgrid 0.3) go on working after the migration.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { Migrator } from "kysely/migration";
import pg from "pg";
import { DIALECTS, NODE_TOKEN, testDatabase } from "../../../test/support/server.js";
import { tempDir } from "../../../test/support/vgrid.js";
import { openStore, type StoreLocation } from "./db.js";
import { hostForTokenHash } from "./hosts.js";
import { migrationProvider } from "./migrations.js";
import { hashSecret } from "./secrets.js";
import { ensureUser, issueToken, userForToken } from "./users.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
/** The last migration of vgrid 0.3, whose hashes were plain sha256. */
const BEFORE_KEYS = "2026-12-01T02-due-and-taken-names";

for (const dialect of DIALECTS) {
  test(`on ${dialect}: tokens and node secrets hashed before the key existed open the same doors after the migration`, async (t) => {
    const dir = await tempDir("keyed");
    const store = await testDatabase(dialect, dir);
    t.after(async () => {
      await store.drop();
      await rm(dir, { recursive: true, force: true });
    });
    const location: StoreLocation = store.database.url ? { kind: "postgres", url: store.database.url } : { kind: "sqlite", file: store.database.file! };

    // The store as vgrid 0.3 left it: a user's token and a host's secret, as plain sha256.
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const old = new Kysely<any>({
      dialect: location.kind === "sqlite" ? new SqliteDialect({ database: new SQLite(location.file) }) : new PostgresDialect({ pool: new pg.Pool({ connectionString: location.url }) }),
    });
    const migrated = await new Migrator({ db: old, provider: migrationProvider }).migrateTo(BEFORE_KEYS);
    assert.equal(migrated.error, undefined);
    const secret = "vgt_an-old-token-of-vgrid-0.3";
    await old.insertInto("users").values({ name: "alice", admin: 0, ssh_keys: "[]", created_at: "2026-11-30T00:00:00Z" }).execute();
    await old.insertInto("tokens").values({ id: "t1", user_name: "alice", name: "old", hash: sha256(secret), created_at: "2026-11-30T00:00:00Z" }).execute();
    await old.insertInto("hosts").values({ name: "h1", max_vms: 1, memory_mib: 1024, cpus: 1, token_hash: sha256(NODE_TOKEN) }).execute();
    await old.destroy();

    const db = await openStore(location);
    try {
      assert.equal((await userForToken(db, secret, new Date().toISOString()))?.name, "alice", "the old token still opens the API");
      assert.equal(await hostForTokenHash(db, await hashSecret(db, NODE_TOKEN)), "h1", "the old node secret still names its host");
      const kept = await db.selectFrom("tokens").select("hash").where("id", "=", "t1").executeTakeFirstOrThrow();
      assert.notEqual(kept.hash, sha256(secret), "what is kept is no longer the plain sha256");

      const issued = await issueToken(db, (await ensureUser(db, "bob", false, "2026-12-02T00:00:00Z")).name, "new", "2026-12-02T00:00:00Z");
      const row = await db.selectFrom("tokens").select("hash").where("id", "=", issued.id).executeTakeFirstOrThrow();
      assert.notEqual(row.hash, sha256(issued.secret), "a new token is kept keyed too");
      assert.equal((await userForToken(db, issued.secret, "2026-12-02T00:00:00Z"))?.name, "bob");
    } finally {
      await db.destroy();
    }
  });
}

test("two stores keep the same secret as different hashes", async (t) => {
  const dir = await tempDir("keyed");
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [a, b] = [await openStore({ kind: "sqlite", file: join(dir, "a.db") }), await openStore({ kind: "sqlite", file: join(dir, "b.db") })];
  try {
    assert.notEqual(await hashSecret(a, NODE_TOKEN), await hashSecret(b, NODE_TOKEN));
    assert.equal(await hashSecret(a, NODE_TOKEN), await hashSecret(a, NODE_TOKEN));
  } finally {
    await a.destroy();
    await b.destroy();
  }
});

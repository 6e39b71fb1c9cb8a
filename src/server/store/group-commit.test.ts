import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../../test/support/vgrid.js";
import { openSqliteStore } from "./db.js";
import { GroupCommit } from "./group-commit.js";
import { ensureUser } from "./users.js";

test("a change queued the moment the one before it commits is run, not left waiting for a drain that has ended", async (t) => {
  const dir = await tempDir("group-commit");
  const db = await openSqliteStore(join(dir, "vgrid.db"));
  t.after(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  const writes = new GroupCommit(db);
  const at = new Date().toISOString();
  for (const name of ["alice", "bob", "carol"]) {
    // Each awaited at once, with nothing in between: the next is queued in the turn after the commit.
    await writes.run((tx) => ensureUser(tx, name, false, at));
  }
  const next = writes.run(async (tx) => (await tx.selectFrom("users").select("name").execute()).length);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the change never ran")), 2000).unref());
  assert.equal(await Promise.race([next, timeout]), 3);
});

import assert from "node:assert/strict";
import { chmod, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../../test/support/vgrid.js";
import { makeDataDir } from "../data-dir.js";
import { openSqliteStore } from "./db.js";
import { ensureUser } from "./users.js";

const modeOf = async (file: string) => ((await stat(file)).mode & 0o777).toString(8);

test("the SQLite store and its -wal and -shm are readable by the server's user alone, even one an older vgrid made 0644", async (t) => {
  const dir = await tempDir("modes");
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const name of ["fresh.db", "old.db"]) {
    const file = join(dir, name);
    if (name === "old.db") {
      await writeFile(file, "");
      await chmod(file, 0o644);
    }
    const db = await openSqliteStore(file);
    try {
      await ensureUser(db, "alice", false, new Date().toISOString());
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(await modeOf(f), "600", `${f}`);
    } finally {
      await db.destroy();
    }
  }
});

test("the data directory is made 0700, and one left 0755 is closed up", async (t) => {
  const dir = await tempDir("modes");
  t.after(() => rm(dir, { recursive: true, force: true }));
  await makeDataDir(join(dir, "fresh"));
  assert.equal(await modeOf(join(dir, "fresh")), "700");
  assert.equal(await modeOf(join(dir, "fresh", "node")), "700");
  await mkdir(join(dir, "old"), { mode: 0o755 });
  await chmod(join(dir, "old"), 0o755);
  await makeDataDir(join(dir, "old"));
  assert.equal(await modeOf(join(dir, "old")), "700");
});

// `vgrid token create` on the server's store: a token alone on stdout's last line, users created as
// needed with their names normalised, --admin promoting an existing user, bad names refused.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { openSqliteStore, openStore } from "../../src/server/store/db.js";
import { freshDatabase } from "../support/postgres.js";
import { useLoginLink } from "../../src/server/store/sessions.js";
import { userForToken } from "../../src/server/store/users.js";
import { VGRID, tempDir } from "../support/vgrid.js";

const run = promisify(execFile);
let dir: string;

before(async () => {
  dir = await tempDir("token");
  await (await openSqliteStore(join(dir, "vgrid.db"))).destroy(); // as a first `vgrid up` would leave it
});

after(async () => rm(dir, { recursive: true, force: true }));

async function whoHas(token: string) {
  const db = await openSqliteStore(join(dir, "vgrid.db"));
  try {
    return await userForToken(db, token, new Date().toISOString());
  } finally {
    await db.destroy();
  }
}

test("token create prints a token for a new user, and --admin promotes an existing one", async () => {
  const first = await run(VGRID, ["token", "create", "--user", "carol jones", "--data", dir]);
  const token = first.stdout.trim().split("\n").at(-1)!;
  assert.match(token, /^vgt_[A-Za-z0-9_-]{40,}$/);
  assert.deepEqual(await whoHas(token), { name: "carol_jones", admin: false, sshKeys: [], maxVms: null, origin: "cli", groups: [] });

  const second = await run(VGRID, ["token", "create", "--user", "carol_jones", "--admin", "--data", dir]);
  const adminToken = second.stdout.trim().split("\n").at(-1)!;
  assert.notEqual(adminToken, token);
  assert.equal((await whoHas(adminToken))?.admin, true);
  assert.equal((await whoHas(token))?.admin, true, "the user, not the token, is the admin");
});

test("token create refuses a bad name or a missing store with one line and exit 1", async () => {
  for (const [args, words] of [
    [["--user", "../../etc", "--data", dir], "not allowed"],
    [["--user", "a;rm -rf /", "--data", dir], "not allowed"],
    [["--user", "x", "--data", join(dir, "nowhere")], "no vgrid database"],
  ] as const) {
    const failed = await run(VGRID, ["token", "create", ...args]).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(failed.code, 1, args.join(" "));
    assert.equal(failed.stderr.trim().split("\n").length, 1, failed.stderr);
    assert.ok(failed.stderr.includes(words), failed.stderr);
  }
});

test("token create works on the store a server.toml names, PostgreSQL's too", async (t) => {
  const pg = await freshDatabase();
  t.after(() => pg.drop());
  await (await openStore({ kind: "postgres", url: pg.url })).destroy(); // as a first `vgrid server` would leave it
  const config = join(dir, "pg-server.toml");
  await writeFile(config, `[database]\nurl = "${pg.url}"\n`);
  const { stdout } = await run(VGRID, ["token", "create", "--user", "dora", "--admin", "--config", config]);
  const token = stdout.trim().split("\n").at(-1)!;
  const db = await openStore({ kind: "postgres", url: pg.url });
  try {
    assert.deepEqual(await userForToken(db, token, new Date().toISOString()), { name: "dora", admin: true, sshKeys: [], maxVms: null, origin: "cli", groups: [] });
  } finally {
    await db.destroy();
  }
});

test("login-link prints a one-time URL on the portal's address, which logs a browser in once", async () => {
  const missing = await run(VGRID, ["login-link", "--user", "erin", "--data", dir]).catch((err: { code: number; stderr: string }) => err);
  assert.ok("code" in missing && missing.code === 1);
  assert.match(missing.stderr, /no vgrid up has recorded its address/);
  await writeFile(join(dir, "url"), "http://127.0.0.1:8123\n");
  const { stdout, stderr } = await run(VGRID, ["login-link", "--user", "Erin Smith", "--data", dir]);
  const url = stdout.trim().split("\n").at(-1)!;
  assert.match(url, /^http:\/\/127\.0\.0\.1:8123\/auth\/link\/vgl_[A-Za-z0-9_-]{43}$/);
  assert.match(stderr, /Erin_Smith.*once, for 15 minutes/);
  const db = await openSqliteStore(join(dir, "vgrid.db"));
  try {
    const secret = url.split("/").at(-1)!;
    assert.deepEqual(await useLoginLink(db, secret, new Date()), { user: "Erin_Smith" });
    assert.deepEqual(await useLoginLink(db, secret, new Date()), { refused: "used" });
    const stored = JSON.stringify(await db.selectFrom("login_links").selectAll().execute());
    assert.ok(!stored.includes(secret), "only the link's hash is stored");
  } finally {
    await db.destroy();
  }
});

// Another process holding the SQLite file's write lock (`vgrid token create` while the server runs)
// must not stop the server: better-sqlite3 waits synchronously, so the store waits for the lock itself,
// yielding, and the server answers meanwhile; the write goes through once the lock is released.
// SQLite only: PostgreSQL's waits never hold the event loop.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { repoRoot } from "../../src/core/repo.js";
import { sleep } from "../support/processes.js";
import { KEY, startTestServer } from "../support/server.js";

/** A second process that takes the database's write lock and holds it until told (a line on its stdin). */
const HOLDER = `
const SQLite = require("better-sqlite3");
const db = new SQLite(process.argv[1]);
db.exec("begin immediate");
db.prepare("insert into audit (at, actor, action) values (?, 'holder', 'test.lock')").run(new Date().toISOString());
process.stdout.write("locked\\n");
process.stdin.once("data", () => {
  db.exec("commit");
  db.close();
  process.stdout.write("released\\n");
});
`;

test("while another process holds the write lock, the server answers /healthz, and the write waits and then goes through", { timeout: 60_000 }, async (t) => {
  const server = await startTestServer();
  t.after(() => server.close());
  const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
  const token = await server.tokenFor("alice");
  const { database } = server.ctx.config;
  assert.equal(database.kind, "sqlite");

  const holder = spawn(process.execPath, ["-e", HOLDER, database.kind === "sqlite" ? database.file : ""], { cwd: repoRoot(), stdio: ["pipe", "pipe", "inherit"] });
  t.after(() => holder.kill());
  const exited = once(holder, "exit");
  const lines = createInterface({ input: holder.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, "locked");

  let written = false;
  const write = fetch(`${url}/api/v1/me/ssh-keys`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ keys: [KEY] }),
  }).then((res) => {
    written = true;
    return res;
  });
  await sleep(300); // the write has reached the store and waits for the lock

  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200, "the server answers while the lock is held");
  assert.equal(written, false, "and the write is still waiting for it");

  holder.stdin.end("go\n");
  assert.equal((await lines.next()).value, "released");
  const res = await write;
  assert.equal(res.status, 200, await res.text());
  const me = await (await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.deepEqual((me as { sshKeys: string[] }).sshKeys, [KEY], "the write went through once the lock was released");
  await exited;
});

// Several `vgrid server` processes on one PostgreSQL are replicas of one control plane: racing deploys
// spread over them never overbook a host nor give a hostname twice; a change made on one wakes a node's
// long-poll and a user's event stream on the other; the periodic work runs on one replica at a time and
// moves to the other when its holder is killed; and with one killed mid-race, the other serves on and
// nothing acknowledged is lost or doubled. On SQLite, a second server on the same file is refused.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { allVms, checkPool, deployVm as deploy, hostSync as sync, mintToken as token, startReplica as startServer, type DeployAnswer } from "../support/pg-cluster.js";
import { freshDatabase } from "../support/postgres.js";
import { eventually } from "../support/processes.js";
import { VGRID, cleanUp, startVgrid, tempDir, type VgridProcess } from "../support/vgrid.js";

const run = promisify(execFile);
const SHAPE = { hosts: 20, slotsPerHost: 50 };
const HOSTS = SHAPE.hosts;
const SLOTS_PER_HOST = SHAPE.slotsPerHost;

let dir: string;
let database: { url: string; drop(): Promise<void> };
const servers: VgridProcess[] = [];

before(async () => {
  dir = await tempDir("replicas");
  database = await freshDatabase();
});

after(async () => {
  for (const s of servers) await s.stop("SIGTERM");
  await cleanUp(undefined, dir);
  await database.drop();
});

/** A replica: its own server.toml (its own port), the shared PostgreSQL database and pool of 20 hosts. */
async function startReplica(name: string) {
  const replica = await startServer(dir, name, database.url, SHAPE);
  servers.push(replica.proc);
  return replica;
}

/** Two replicas on a fresh database, their 20 hosts online, an admin and six users. */
async function twoReplicas() {
  const a = await startReplica("a");
  const b = await startReplica("b");
  const admin = await token(a.config, "admin", true);
  const users = await Promise.all(Array.from({ length: 6 }, (_, i) => token(a.config, `user${i}`)));
  for (let i = 0; i < HOSTS; i++) assert.equal((await sync(i % 2 ? b.url : a.url, i)).status, 200);
  return { a, b, admin, users };
}

test("3,000 racing deploys over two replicas for 1,000 slots: exactly 1,000, the rest no-capacity; changes wake the other replica", async () => {
  const { a, b, admin, users } = await twoReplicas();

  // A node waiting on replica A, a user's event stream on replica A; the change is made on replica B.
  const desired = (await (await sync(a.url, 0)).json()) as { version: number };
  const waiting = sync(a.url, 0, { version: desired.version, waitSeconds: 60 }).then((r) => r.json() as Promise<{ vms: Array<{ id: string }> }>);
  const stream = await fetch(`${a.url}/api/v1/events`, { headers: { authorization: `Bearer ${admin}` } });
  const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
  await reader.read(); // subscribed
  const made: DeployAnswer[] = [];
  // Deploy on B until one lands on h00 (placement spreads them over the least loaded hosts).
  while (!made.some((m) => m.host === "h00")) {
    const m = await deploy(b.url, users[0]!);
    assert.equal(m.status, 201, JSON.stringify(m));
    made.push(m);
  }
  const onH00 = made.find((m) => m.host === "h00")!.id!;
  const woken = await waiting; // a minute's wait, cut short: the test's own timeout would end it otherwise
  assert.ok(woken.vms.some((v) => v.id === onH00), "the long-poll on A woke with the VM deployed on B");
  let seen = "";
  while (!seen.includes(onH00)) seen += (await reader.read()).value ?? "";
  await reader.cancel();

  const answers = await Promise.all(Array.from({ length: 3000 }, (_, i) => deploy(i % 2 ? b.url : a.url, users[i % users.length]!)));
  const created = answers.filter((r) => r.status === 201);
  assert.equal(created.length + made.length, HOSTS * SLOTS_PER_HOST, "exactly the free slots were taken");
  assert.ok(answers.filter((r) => r.status !== 201).every((r) => r.status === 409 && r.type === "/problems/no-capacity"), "the rest: no-capacity");
  const vms = await allVms(b.url, admin);
  assert.equal(vms.length, HOSTS * SLOTS_PER_HOST);
  await checkPool(b.url, admin, vms, SHAPE);

  // The periodic work runs on exactly one of them.
  await eventually("a replica to take the periodic work", 30_000, async () => (/this replica runs the periodic work/.test(a.proc.output + b.proc.output) ? true : undefined), 200);
  const holders = [a, b].filter((r) => r.proc.output.includes("this replica runs the periodic work"));
  assert.equal(holders.length, 1, "one replica holds the lease");
});

test("one replica killed mid-race: the other serves on, takes over the periodic work, and nothing is lost or doubled", async () => {
  await database.drop();
  database = await freshDatabase();
  const { a, b, admin, users } = await twoReplicas();
  await eventually("a replica to take the periodic work", 30_000, async () => (/this replica runs the periodic work/.test(a.proc.output + b.proc.output) ? true : undefined), 200);
  const [holder, other] = a.proc.output.includes("this replica runs the periodic work") ? [a, b] : [b, a];

  const results: Array<Promise<DeployAnswer>> = [];
  for (let i = 0; i < 3000; i++) {
    results.push(deploy(i % 2 ? other.url : holder.url, users[i % users.length]!));
    if (i === 1500) await holder.proc.stop("SIGKILL");
  }
  const answers = await Promise.all(results);
  assert.ok(answers.every((r) => [0, 201, 409].includes(r.status)), JSON.stringify(answers.find((r) => ![0, 201, 409].includes(r.status))));
  assert.ok(answers.filter((r) => r.status === 409).every((r) => r.type === "/problems/no-capacity"));

  // Every VM a replica acknowledged is there, once; the survivor filled what was left.
  const vms = await allVms(other.url, admin);
  const ids = new Set(vms.map((v) => v.id));
  for (const r of answers.filter((x) => x.status === 201)) assert.ok(ids.has(r.id!), `acknowledged VM ${r.id} is in the store`);
  assert.equal(vms.length, HOSTS * SLOTS_PER_HOST, "the pool is full, none twice");
  await checkPool(other.url, admin, vms, SHAPE);

  // The killed replica's lease lapses; the survivor takes the periodic work over.
  await eventually("the survivor to take the periodic work", 90_000, async () => (other.proc.output.includes("this replica runs the periodic work") ? true : undefined), 500);
});

test("on SQLite, a second server on the same file is refused, saying why and what to use instead", async () => {
  const port = await pickFreePort("127.0.0.1");
  const config = join(dir, "sqlite.toml");
  await writeFile(config, `[listen]\nport = ${port}\n[database]\nfile = "one.db"\n`);
  const first = startVgrid(["server", "--config", config]);
  servers.push(first);
  await eventually("the first server to answer", 30_000, async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok ? true : undefined), 100);
  await writeFile(join(dir, "sqlite2.toml"), `[listen]\nport = ${await pickFreePort("127.0.0.1")}\n[database]\nfile = "one.db"\n`);
  const second = await run(VGRID, ["server", "--config", join(dir, "sqlite2.toml")]).then(() => ({ code: 0, stderr: "" }), (e: { code: number; stderr: string }) => e);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another vgrid server \(pid \d+\) uses the SQLite store .*one\.db: one server per SQLite file; to run several, put the store on PostgreSQL \(\[database\] url/);
});

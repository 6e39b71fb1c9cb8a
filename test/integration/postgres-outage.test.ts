// PostgreSQL stopped for 10 s under load, as an operator's restart or a failover would: while it is
// gone every request gets a 503 problem+json that says so (never a 500, never a dropped connection);
// once it is back the same server process serves again without a restart, its node syncs again and
// brings every VM up, and nothing is half-written: every VM answered 201 is there, none twice, and the
// host's use is what its VMs hold.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { allVms, checkPool, deployVm, hostOf, hostTokenOf, mintToken, startReplica, type DeployAnswer, type Replica } from "../support/pg-cluster.js";
import { startPostgres, type Postgres } from "../support/postgres.js";
import { eventually } from "../support/processes.js";
import { cleanUp, startVgrid, tempDir, type VgridProcess } from "../support/vgrid.js";

const SHAPE = { hosts: 1, slotsPerHost: 5000 };
const OUTAGE_MS = 10_000;

let dir: string;
let postgres: Postgres;
let server: Replica | undefined;
let node: VgridProcess | undefined;

before(async () => {
  dir = await tempDir("pg-outage");
  // A cluster of this test's own: the run's shared one serves every other test and must stay up.
  postgres = await startPostgres();
});

after(async () => {
  await node?.stop("SIGTERM");
  await server?.proc.stop("SIGTERM");
  await cleanUp(undefined, dir);
  await postgres.stop();
});

interface Answer extends DeployAnswer {
  sentAt: number;
  what: "deploy" | "list" | "ready";
}

test("PostgreSQL stopped for 10 s under load: 503 problem+json meanwhile, then everything resumes without a restart, nothing half-written", async () => {
  const database = postgres.url.replace(/\/postgres$/, "/vgrid");
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query("create database vgrid");
  await admin.end();

  server = await startReplica(dir, "server", database, SHAPE);
  const url = server.url;
  // The host's node: a sim agent, so that VMs run (and report) as they would on a hypervisor.
  await writeFile(join(dir, "node.toml"), `name = "${hostOf(0)}"\nserver = "${url}"\ntoken = "${hostTokenOf(0)}"\nstateDir = "node-state"\ndriver = "sim"\nsimBootSeconds = 0.2\n`);
  node = startVgrid(["node", "--config", join(dir, "node.toml")]);
  const adminToken = await mintToken(server.config, "admin", true);
  const users = await Promise.all([0, 1, 2, 3].map((i) => mintToken(server!.config, `user${i}`)));
  await eventually("the node to be online", 30_000, async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), 100);

  const answers: Answer[] = [];
  let loading = true;
  const ask = async (what: Answer["what"], path: string, token?: string): Promise<void> => {
    const sentAt = Date.now();
    try {
      const res = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const body = (await res.json()) as { type?: string };
      answers.push({ what, sentAt, status: res.status, contentType: res.headers.get("content-type") ?? "", ...(body.type ? { type: body.type } : {}) });
    } catch {
      answers.push({ what, sentAt, status: 0 });
    }
  };
  const loops = [
    ...users.map(async (token) => {
      while (loading) {
        const sentAt = Date.now();
        answers.push({ what: "deploy", sentAt, ...(await deployVm(url, token)) });
        await sleep(25);
      }
    }),
    (async () => {
      while (loading) {
        await ask("list", "/api/v1/vms?all=true&limit=50", adminToken);
        await ask("ready", "/readyz");
        await sleep(50);
      }
    })(),
  ];

  await sleep(2_000);
  await postgres.halt();
  const haltedAt = Date.now();
  await sleep(OUTAGE_MS);
  const resumingAt = Date.now();
  await postgres.resume();
  const resumedAt = Date.now();
  await eventually("deploys to succeed again", 60_000, async () => (answers.some((a) => a.what === "deploy" && a.sentAt > resumedAt && a.status === 201) ? true : undefined), 100);
  await sleep(2_000);
  loading = false;
  await Promise.all(loops);

  assert.ok(server.proc.running, `the server lived through it: ${server.proc.output.slice(-2000)}`);
  const unexpected = answers.filter((a) => ![200, 201, 503].includes(a.status));
  assert.deepEqual(unexpected, [], "no 500, no dropped connection, no other answer at any time");
  const during = answers.filter((a) => a.sentAt > haltedAt && a.sentAt < resumingAt);
  assert.ok(during.filter((a) => a.what === "deploy").length >= 10, `deploys were tried during the outage: ${during.length}`);
  for (const a of during) {
    if (a.what === "ready") {
      assert.equal(a.status, 503, "readyz says unready while the store is gone");
      continue;
    }
    assert.equal(a.status, 503, `${a.what} during the outage: ${JSON.stringify(a)}`);
    assert.equal(a.contentType, "application/problem+json; charset=utf-8");
    assert.equal(a.type, "/problems/store-unavailable");
  }
  const lastAfter = answers.filter((a) => a.sentAt > resumedAt + 1_000);
  assert.ok(lastAfter.length > 0 && lastAfter.every((a) => a.status === 200 || a.status === 201), "everything answers again after it is back");

  // Nothing half-written: every acknowledged VM once, and no more VMs than deploys that may have
  // been made (a 503 may come after a commit whose answer the database never sent).
  const vms = await allVms(url, adminToken);
  const created = answers.filter((a) => a.what === "deploy" && a.status === 201);
  const unsure = answers.filter((a) => a.what === "deploy" && a.status === 503);
  const ids = new Set(vms.map((v) => v.id));
  for (const a of created) assert.ok(ids.has(a.id!), `acknowledged VM ${a.id} is in the store`);
  assert.ok(vms.length >= created.length && vms.length <= created.length + unsure.length, `${vms.length} VMs for ${created.length} acknowledged deploys`);
  await checkPool(url, adminToken, vms, SHAPE);

  // The node syncs again without a restart of anything, and brings every VM up.
  await eventually("every VM to run", 60_000, async () => ((await allVms(url, adminToken)).every((v) => v.state === "running") ? true : undefined), 500);
  assert.match(node.output, /the server answers again/, "the node lost and regained its server");
});

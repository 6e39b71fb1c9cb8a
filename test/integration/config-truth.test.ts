// The config file is the truth: a host, an image, an admin or a hostname that server.toml stops naming
// is gone at the next start, never silently with the VMs that still use it; what an operator promoted in
// the store stays until `vgrid user set NAME --no-admin`.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { stringify } from "smol-toml";
import type { Host, Hostname, Vm } from "../../src/core/api.js";
import { buildApp } from "../../src/server/api/app.js";
import { buildServerConfig } from "../../src/server/config.js";
import { closeServerContext, openServerContext } from "../../src/server/server.js";
import { ensureUser, issueToken } from "../../src/server/store/users.js";
import { DIALECTS, KEY, TINY_IMAGE, testDatabase } from "../support/server.js";
import { VGRID, tempDir } from "../support/vgrid.js";

const run = promisify(execFile);
const HV1 = "hv1-secret-0123456789abcdef0123456789";
const HV2 = "hv2-secret-0123456789abcdef0123456789";

let dir: string;
before(async () => {
  dir = await tempDir("truth");
});
after(async () => rm(dir, { recursive: true, force: true }));

function settings(over: { hosts: string[]; images: string[]; admins: string[]; pool: string[] }, database: Record<string, string>) {
  const tokens: Record<string, string> = { hv1: HV1, hv2: HV2 };
  return {
    admins: over.admins,
    database,
    hosts: over.hosts.map((name) => ({ name, maxVms: 4, memoryMiB: 8192, cpus: 8, token: tokens[name]! })),
    hostnames: { count: 4, pool: over.pool.map((name, i) => ({ name, mac: `52:54:00:aa:00:0${i}` })) },
    images: over.images.map((tag) => ({ ...TINY_IMAGE, tag, name: tag })),
  };
}

/** The server as `vgrid server` would start it on `settings`, with helpers to call it. */
async function start(file: ReturnType<typeof settings>) {
  const ctx = await openServerContext(buildServerConfig(file, { file: "server.toml", dir }));
  const app = await buildApp(ctx, { logger: false });
  const call = async <T>(token: string, method: "GET" | "POST" | "DELETE", url: string, payload?: object) => {
    const res = await app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json<T>() };
  };
  const sync = (node: string, token: string) =>
    call<{ vms: Array<{ id: string; image: { tag: string } }> }>(token, "POST", "/nodes/sync", {
      node, version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 8192, cpus: 8 }, reports: [],
    });
  const tokenFor = async (user: string) => {
    await ensureUser(ctx.db, user, false, new Date().toISOString());
    return (await issueToken(ctx.db, user, "test", new Date().toISOString())).secret;
  };
  const close = async () => {
    await app.close();
    await closeServerContext(ctx);
  };
  return { ctx, call, sync, tokenFor, close };
}

for (const dialect of DIALECTS) {
  test(`on ${dialect}: what server.toml stops naming is gone at the next start, and the VMs that used it are kept`, async (t) => {
    const store = await testDatabase(dialect, dir);
    t.after(() => store.drop());
    const first = await start(settings({ hosts: ["hv1", "hv2"], images: ["tiny", "old"], admins: ["alice", "bob"], pool: ["lab-1"] }, store.database));
    assert.equal((await first.sync("hv1", HV1)).status, 200);
    assert.equal((await first.sync("hv2", HV2)).status, 200);
    await ensureUser(first.ctx.db, "carol", true, new Date().toISOString()); // as `vgrid token create --admin` does
    const dave = await first.tokenFor("dave");
    const deployed: Vm[] = [];
    for (const image of ["tiny", "old"]) {
      const res = await first.call<Vm>(dave, "POST", "/vms", { image, sshKeys: [KEY] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      deployed.push(res.body);
    }
    const onHv2 = deployed.find((vm) => vm.host === "hv2");
    assert.ok(onHv2, `the two VMs are spread over both hosts: ${deployed.map((v) => v.host).join(", ")}`);
    const fromOld = deployed.find((vm) => vm.image === "old")!;
    await first.close();

    const second = await start(settings({ hosts: ["hv1"], images: ["tiny"], admins: ["alice"], pool: [] }, store.database));
    try {
      const alice = await second.tokenFor("alice");
      const bob = await second.tokenFor("bob");
      const carol = await second.tokenFor("carol");
      const daveAgain = await second.tokenFor("dave");

      // The removed host: its secret no longer opens the node protocol; its VMs stay, on it.
      const refused = await second.sync("hv2", HV2);
      assert.equal(refused.status, 401, "a removed host's node is refused: its secret is no host's now");
      const hosts = (await second.call<{ items: Host[] }>(alice, "GET", "/hosts")).body.items;
      const hv2 = hosts.find((h) => h.name === "hv2");
      assert.deepEqual([hv2?.removed, hv2?.online, hv2?.vms], [true, false, 1], "the removed host is shown as removed, with its VM");
      assert.equal(hosts.find((h) => h.name === "hv1")?.removed, false);
      const all = (await second.call<{ items: Vm[] }>(alice, "GET", "/vms?all=true")).body.items;
      assert.deepEqual(all.map((vm) => [vm.id, vm.host]).sort(), deployed.map((vm) => [vm.id, vm.host]).sort(), "no VM was deleted");

      // The removed image: no longer offered nor deployable; the VM made from it still boots from it.
      assert.equal((await second.sync("hv1", HV1)).status, 200);
      const images = (await second.call<{ items: Array<{ tag: string }> }>(daveAgain, "GET", "/images")).body.items;
      assert.deepEqual(images.map((i) => i.tag), ["tiny"]);
      const again = await second.call<{ detail: string }>(daveAgain, "POST", "/vms", { image: "old", sshKeys: [KEY] });
      assert.equal(again.status, 400);
      assert.match(again.body.detail, /image 'old' is not in the catalog; known images: tiny/);
      if (fromOld.host === "hv1") {
        const desired = (await second.sync("hv1", HV1)).body.vms;
        assert.equal(desired.find((v) => v.id === fromOld.id)?.image.tag, "old", "its node still gets the image's boot files");
      }

      // Every new VM goes to the host that is left.
      const next = await second.call<Vm>(daveAgain, "POST", "/vms", { image: "tiny", sshKeys: [KEY] });
      assert.equal(next.status, 201);
      assert.equal(next.body.host, "hv1");

      // The removed admin is a user again; the one promoted in the store stays an admin.
      assert.equal((await second.call<{ admin: boolean }>(bob, "GET", "/me")).body.admin, false);
      assert.equal((await second.call(bob, "GET", "/hosts")).status, 403);
      assert.equal((await second.call<{ admin: boolean }>(carol, "GET", "/me")).body.admin, true);
      assert.equal((await second.call<{ admin: boolean }>(alice, "GET", "/me")).body.admin, true);

      // The hostname that left the pool stays with the VM holding it, is never handed out again, and goes
      // once that VM is terminated.
      const holder = deployed.find((vm) => vm.name === "lab-1");
      assert.ok(holder && holder.host === "hv1", `the first VM took lab-1 on hv1: ${JSON.stringify(deployed)}`);
      const pool = async () => (await second.call<{ items: Hostname[] }>(alice, "GET", "/hostnames")).body.items;
      assert.equal((await pool()).find((n) => n.name === "lab-1")?.vmId, holder.id);
      assert.notEqual(next.body.name, "lab-1");
      assert.equal((await second.call(daveAgain, "DELETE", `/vms/${holder.id}`)).status, 202);
      const confirmed = await second.call(HV1, "POST", "/nodes/sync", {
        node: "hv1", version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 8192, cpus: 8 },
        reports: [{ id: holder.id, state: "terminated", responding: false, sshPort: null, ip: null, error: null, detail: null }],
      });
      assert.equal(confirmed.status, 200);
      assert.deepEqual((await pool()).map((n) => n.name), ["vm-001", "vm-002", "vm-003", "vm-004"], "lab-1 left with its VM");
    } finally {
      await second.close();
    }

    // `vgrid user set carol --no-admin` ends the store's promotion.
    const serverToml = join(dir, "server.toml");
    await writeFile(serverToml, stringify(settings({ hosts: ["hv1"], images: ["tiny"], admins: ["alice"], pool: [] }, store.database)));
    await run(VGRID, ["user", "set", "carol", "--no-admin", "--config", serverToml]);
    const third = await start(settings({ hosts: ["hv1", "hv2"], images: ["tiny"], admins: ["alice"], pool: [] }, store.database));
    try {
      assert.equal((await third.call<{ admin: boolean }>(await third.tokenFor("carol"), "GET", "/me")).body.admin, false);
      // A host put back in the file is back in the pool, its secret working again.
      assert.equal((await third.sync("hv2", HV2)).status, 200);
      const hosts = (await third.call<{ items: Host[] }>(await third.tokenFor("alice"), "GET", "/hosts")).body.items;
      assert.equal(hosts.find((h) => h.name === "hv2")?.removed, false);
    } finally {
      await third.close();
    }
  });
}

// A VM's history, as its owner reads it, on SQLite and on PostgreSQL: every state it went through, who
// or what moved it there (its owner, its node, an admin) and why; for the owner and admins only; still
// there once the VM is terminated, gone with the VM's row.

import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { VmReport } from "../../src/core/protocol.js";
import type { Problem, Vm, VmHistoryEntry } from "../../src/core/api.js";
import { DIALECTS, NODE_TOKEN, startTestServer, syncBody, testDatabase, type Dialect, type TestServer } from "../support/server.js";
import { currentStore, oldStore } from "../support/old-store.js";
import { tempDir } from "../support/vgrid.js";

type Step = [state: string, by: string, detail: string | null];
const steps = (items: VmHistoryEntry[]): Step[] => items.map((e) => [e.state, e.by, e.detail]);

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let alice: string;
    let bob: string;
    let admin: string;

    before(async () => {
      server = await startTestServer({}, dialect);
      await server.bringNodeOnline();
      alice = await server.tokenFor("alice");
      bob = await server.tokenFor("bob");
      admin = await server.tokenFor("root-admin");
    });
    after(async () => server.close());

    const history = async (token: string, vm: Vm) => {
      const res = await server.call(token, "GET", `/vms/${vm.id}/history`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ items: VmHistoryEntry[] }>().items;
    };
    /** The node says this of the VM, as a sync does. */
    const report = async (vm: Vm, over: Partial<VmReport>) => {
      const reports: VmReport[] = [{ id: vm.id, state: "running", responding: false, sshPort: 2222, ip: null, error: null, detail: null, ...over }];
      const res = await server.app.inject({ method: "POST", url: "/api/v1/nodes/sync", headers: { authorization: `Bearer ${NODE_TOKEN}` }, payload: syncBody("h1", { reports }) });
      assert.equal(res.statusCode, 200, res.body);
    };

    test("a VM's history tells its life: deploy, what the node reported, extend, terminate, terminated", async () => {
      const vm = await server.deploy(alice);
      await report(vm, { state: "provisioning", sshPort: null });
      await report(vm, { state: "running" });
      await report(vm, { state: "running", responding: true }); // responding is not a state: no step
      await report(vm, { state: "running", responding: true }); // the same again: no step
      const extended = await server.call(alice, "POST", `/vms/${vm.id}/extend`, { hours: 1 });
      assert.equal(extended.statusCode, 200, extended.body);
      assert.equal((await server.call(alice, "DELETE", `/vms/${vm.id}`)).statusCode, 202);
      assert.equal((await server.call(alice, "DELETE", `/vms/${vm.id}`)).statusCode, 202, "asked again: no second step");
      await report(vm, { state: "terminated", sshPort: null });

      const items = await history(alice, vm);
      assert.deepEqual(steps(items), [
        ["pending", "alice", "tiny, 256 MiB, 1 cpu, on h1"],
        ["provisioning", "node", null],
        ["running", "node", null],
        ["running", "alice", `expiry moved to ${extended.json<Vm>().expiresAt}, 1 h later`],
        ["terminating", "alice", null],
        ["terminated", "node", null],
      ]);
      const times = items.map((e) => Date.parse(e.at));
      assert.ok(times.every((t, i) => !Number.isNaN(t) && (i === 0 || t >= times[i - 1]!)), `oldest first: ${items.map((e) => e.at).join(", ")}`);
      assert.equal((await server.call(alice, "GET", `/vms/${vm.id}`)).json<Vm>().state, "terminated");
      assert.deepEqual(await history(admin, vm), items, "an admin reads the same story, the VM terminated");
    });

    test("a failure is told in the owner's words, and so is a deletion that fails", async () => {
      const vm = await server.deploy(alice);
      await report(vm, { state: "failed", sshPort: null, error: "image 'tiny' is not on node h1: copy tiny.qcow2 there", detail: "/var/lib/vgrid/images/tiny.qcow2: ENOENT" });
      assert.equal((await server.call(alice, "DELETE", `/vms/${vm.id}`)).statusCode, 202);
      await report(vm, { state: "failed", sshPort: null, error: "the VM's disk could not be deleted", detail: "EBUSY" });
      assert.deepEqual(steps(await history(alice, vm)).slice(1), [
        ["failed", "node", "image 'tiny' is not on node h1: copy tiny.qcow2 there"],
        ["terminating", "alice", null],
        ["terminating", "node", "the VM's disk could not be deleted"],
      ]);
    });

    test("another user's VM has no history for a user (a 404, as for the VM itself); an admin's terminate is in it", async () => {
      const bobs = await server.deploy(bob);
      for (const id of [bobs.id, "7f3c0000-0000-4000-8000-000000000000", "not-an-id"]) {
        const res = await server.call(alice, "GET", `/vms/${id}/history`);
        assert.equal(res.statusCode, 404, res.body);
        assert.match(res.json<Problem>().detail, /no VM with id/);
      }
      assert.equal((await server.call(admin, "DELETE", `/vms/${bobs.id}`, { reason: "the lab is closing" })).statusCode, 202);
      assert.deepEqual(steps(await history(bob, bobs)).at(-1), ["terminating", "root-admin", "the lab is closing"]);
    });

    test("a long history comes in pages, and its rows go with the VM's row", async () => {
      const vm = await server.deploy(alice);
      for (let i = 0; i < 4; i++) assert.equal((await server.call(alice, "POST", `/vms/${vm.id}/extend`, { hours: 0.25 })).statusCode, 200);
      const seen: VmHistoryEntry[] = [];
      let next: string | undefined;
      do {
        const res = await server.call(alice, "GET", `/vms/${vm.id}/history?limit=2${next ? `&cursor=${next}` : ""}`);
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json<{ items: VmHistoryEntry[]; next?: string }>();
        assert.ok(page.items.length <= 2);
        seen.push(...page.items);
        next = page.next;
      } while (next !== undefined);
      assert.deepEqual(steps(seen), steps(await history(alice, vm)));
      assert.equal(seen.length, 5);
      const forged = await server.call(alice, "GET", `/vms/${vm.id}/history?cursor=${Buffer.from('["x"]').toString("base64url")}`);
      assert.equal(forged.statusCode, 400);
      assert.equal(forged.json<Problem>().field, "cursor");

      const db = server.ctx.db;
      await db.deleteFrom("hostnames").where("vm_id", "=", vm.id).execute();
      await db.deleteFrom("vms").where("id", "=", vm.id).execute();
      assert.equal((await db.selectFrom("vm_history").select("id").where("vm_id", "=", vm.id).execute()).length, 0);
    });

    test("VMs deployed before histories were kept start theirs with their deploy and their node's last word", async () => {
      await upgradeStory(dialect);
    });
  });
}

/** A store made by the version before histories, with two VMs, then opened by this one. */
async function upgradeStory(dialect: Dialect): Promise<void> {
  const dir = await tempDir("history-upgrade");
  const store = await testDatabase(dialect, dir);
  try {
    const place = { dialect, dir, url: store.database.url };
    const old = await oldStore(place, "2026-12-02T01-tokens-by-user");
    await old.insertInto("users").values({ name: "alice", created_at: "2026-12-01T00:00:00.000Z" }).execute();
    await old.insertInto("hosts").values({ name: "h1", max_vms: 5, memory_mib: 8192, cpus: 8, token_hash: "" }).execute();
    const vm = (id: string, state: string, mac: string) => ({
      id, name: id, owner: "alice", image: "tiny", host: "h1", state, memory_mib: 256, cpus: 1, mac, ssh_keys: "[]",
      created_at: "2026-12-01T10:00:00.000Z", updated_at: "2026-12-01T11:00:00.000Z",
    });
    await old.insertInto("vms").values([vm("vm-running", "running", "52:54:00:00:00:01"), vm("vm-asked", "terminating", "52:54:00:00:00:02")]).execute();
    await old.destroy();

    const db = await currentStore(place);
    try {
      const rows = await db.selectFrom("vm_history").select(["vm_id", "at", "state", "actor"]).orderBy("id").execute();
      assert.deepEqual(rows.map((r) => [r.vm_id, r.at, r.state, r.actor]), [
        ["vm-asked", "2026-12-01T10:00:00.000Z", "pending", "alice"],
        ["vm-running", "2026-12-01T10:00:00.000Z", "pending", "alice"],
        ["vm-running", "2026-12-01T11:00:00.000Z", "running", "node"],
      ], "who asked for the termination is not known: nothing is made up");
    } finally {
      await db.destroy();
    }
  } finally {
    await store.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

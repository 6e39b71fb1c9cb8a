// The scheduler's promise under load: 50 deploys at once for 5 free slots, over real HTTP, on SQLite
// and on PostgreSQL. Exactly 5 get a VM, the 45 others a 409 no-capacity, and no hostname is given twice.
// And a user's quota of VMs, memory or cpus holds when her deploys race each other.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DIALECTS, KEY, NODE_TOKEN, startTestServer, type TestServer } from "../support/server.js";

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;

    before(async () => {
      server = await startTestServer({}, dialect);
      await server.bringNodeOnline();
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    });

    after(async () => server.close());

    test("50 concurrent deploys for 5 slots: exactly 5 succeed, 45 get no-capacity, hostnames unique", async () => {
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => server.tokenFor(`user${i}`)));
      const answers = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const res = await fetch(`${url}/api/v1/vms`, {
            method: "POST",
            headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, "content-type": "application/json" },
            body: JSON.stringify({ image: "tiny", sshKeys: [KEY] }),
          });
          return { status: res.status, body: (await res.json()) as { name?: string; type?: string; host?: string } };
        }),
      );
      const created = answers.filter((a) => a.status === 201);
      const refused = answers.filter((a) => a.status === 409);
      assert.equal(created.length, 5);
      assert.equal(refused.length, 45);
      assert.ok(refused.every((a) => a.body.type === "/problems/no-capacity"), "every refusal says no-capacity");
      const names = created.map((a) => a.body.name);
      assert.equal(new Set(names).size, 5, `hostnames are unique: ${names.join(", ")}`);

      const rows = await server.ctx.db.selectFrom("vms").select(["name", "host"]).execute();
      assert.equal(rows.length, 5, "the store holds exactly the 5 VMs answered");
      const held = await server.ctx.db.selectFrom("hostnames").select("name").where("vm_id", "is not", null).execute();
      assert.deepEqual(held.map((h) => h.name).sort(), [...names].sort(), "exactly their hostnames are taken");
      const metrics = await server.app.inject({ method: "GET", url: "/metrics" });
      assert.match(metrics.body, /^vgrid_placement_failures_total\{reason="no-capacity"\} 45$/m, "the metrics count the refusals by reason");
      assert.match(metrics.body, /^vgrid_deploy_duration_seconds_count 5$/m, "and time the deploys that were made");
    });

    // Each limit of the quota in turn leaves room for exactly 3 of carol's VMs (256 MiB, 1 cpu each).
    const none = { maxVms: null, maxMemoryMiB: null, maxCpus: null };
    const quotas: Array<{ limit: string; quota: Record<string, unknown>; words: string[]; max: Record<string, number | null> }> = [
      { limit: "VMs", quota: { maxVmsPerUser: 3 }, words: ["3 VMs", "maxVms"], max: { ...none, maxVms: 3 } },
      { limit: "VMs, her own", quota: { maxVmsPerUser: 1, users: { carol: { maxVms: 3 } } }, words: ["3 VMs", "maxVms"], max: { ...none, maxVms: 3 } },
      { limit: "memory", quota: { maxMemoryMiBPerUser: 800 }, words: ["800 MiB", "maxMemoryMiB"], max: { ...none, maxMemoryMiB: 800 } },
      { limit: "cpus", quota: { maxCpusPerUser: 3 }, words: ["3 cpus", "maxCpus"], max: { ...none, maxCpus: 3 } },
    ];
    for (const { limit, quota, words, max } of quotas) {
      test(`20 concurrent deploys of one user with room for 3 by ${limit}: exactly 3 succeed, 17 get quota-exceeded`, async (t) => {
        const roomy = await startTestServer(
          { quota, hosts: [{ name: "h1", maxVms: 50, memoryMiB: 65536, cpus: 64, token: NODE_TOKEN }], hostnames: { count: 60 } },
          dialect,
        );
        t.after(() => roomy.close());
        await roomy.bringNodeOnline();
        const roomyUrl = await roomy.app.listen({ host: "127.0.0.1", port: 0 });
        const token = await roomy.tokenFor("carol");
        const answers = await Promise.all(
          Array.from({ length: 20 }, async () => {
            const res = await fetch(`${roomyUrl}/api/v1/vms`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ image: "tiny", sshKeys: [KEY] }),
            });
            return { status: res.status, ...((await res.json()) as { type?: string; detail?: string }) };
          }),
        );
        assert.equal(answers.filter((a) => a.status === 201).length, 3);
        const refused = answers.filter((a) => a.status !== 201);
        assert.deepEqual(new Set(refused.map((a) => `${a.status} ${a.type}`)), new Set(["409 /problems/quota-exceeded"]));
        for (const w of words) assert.ok(refused[0]!.detail!.includes(w), `'${refused[0]!.detail}' should name the limit: '${w}'`);
        assert.match(refused[0]!.detail!, /terminate/, "and what to do");
        const rows = await roomy.ctx.db.selectFrom("vms").select("id").where("owner", "=", "carol").execute();
        assert.equal(rows.length, 3, "the store holds exactly her 3 VMs");
        const me = (await (await fetch(`${roomyUrl}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { quota: Record<string, unknown> };
        assert.deepEqual(me.quota, { ...max, used: 3, usedMemoryMiB: 768, usedCpus: 3 }, "/me shows her limits and what her VMs use");
      });
    }
  });
}

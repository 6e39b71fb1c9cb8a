// A VM's expiry as its owner meets it, on SQLite and on PostgreSQL: /me says the limits of server.toml's
// [expiry], and extending a VM adds hours to the later of its expiry and now, never beyond the policy.
// The server's clock stands still (and is moved by hand), so that every expiry is exact.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Host, Me, Problem, Vm } from "../../src/core/api.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";

const HOUR = 3600_000;

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let alice: string;
    let admin: string;
    const start = Date.parse("2026-12-02T12:00:00.000Z");
    let clock = start;
    const at = (hours: number) => new Date(start + hours * HOUR).toISOString();

    before(async () => {
      server = await startTestServer({ expiry: { defaultHours: 6, maxHours: 72 } }, dialect);
      server.ctx.now = () => new Date(clock);
      await server.bringNodeOnline();
      alice = await server.tokenFor("alice");
      admin = await server.tokenFor("root-admin");
    });
    after(async () => server.close());

    /** Alice's new VM, deployed now for `hours`. */
    const deploy = (hours: number) => server.deploy(alice, { hours });
    const extend = (vm: Vm, hours: number) => server.call(alice, "POST", `/vms/${vm.id}/extend`, { hours });

    test("/me says how long a VM lives unless asked, and the furthest its owner may push it", async () => {
      const res = await server.call(alice, "GET", "/me");
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json<Me>().limits, { defaultHours: 6, maxHours: 72 });
    });

    test("/me says the room left on the hosts, which a deploy takes one of", async () => {
      const hosts = (await server.call(admin, "GET", "/hosts")).json<{ items: Host[] }>().items.filter((h) => h.online);
      const room = hosts.reduce((n, h) => n + Math.max(0, h.maxVms - h.vms), 0);
      assert.ok(room > 1, "the test's hosts have room");
      assert.deepEqual((await server.call(alice, "GET", "/me")).json<Me>().capacity, { freeVms: room });
      const vm = await deploy(1);
      assert.deepEqual((await server.call(alice, "GET", "/me")).json<Me>().capacity, { freeVms: room - 1 });
      await server.call(alice, "DELETE", `/vms/${vm.id}`);
    });

    test("extending a VM with two days left by two hours gives it two days and two hours", async () => {
      clock = start;
      const vm = await deploy(48);
      assert.equal(vm.expiresAt, at(48));
      const res = await extend(vm, 2);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<Vm>().expiresAt, at(50));
      assert.equal((await extend(vm, 2)).json<Vm>().expiresAt, at(52), "each extend adds to the last");
      const both = await Promise.all([extend(vm, 1), extend(vm, 1), extend(vm, 1)]);
      assert.deepEqual(both.map((r) => r.statusCode), [200, 200, 200]);
      assert.equal((await server.call(alice, "GET", `/vms/${vm.id}`)).json<Vm>().expiresAt, at(55), "extends at once all count");
    });

    test("a VM whose expiry has passed is extended from now", async () => {
      clock = start;
      const vm = await deploy(1);
      clock = start + 3 * HOUR;
      const res = await extend(vm, 2);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<Vm>().expiresAt, at(5));
      clock = start;
    });

    test("beyond maxHours from now is a 400 naming the most hours allowed now, and changes nothing", async () => {
      clock = start;
      const vm = await deploy(48);
      const refused = await extend(vm, 30);
      assert.equal(refused.statusCode, 400, refused.body);
      const problem = refused.json<Problem>();
      assert.equal(problem.type, "/problems/invalid");
      assert.equal(problem.field, "hours");
      assert.match(problem.detail, /hours 30 .* 72 hours from now: at most 24 more hours now/);
      assert.equal((await server.call(alice, "GET", `/vms/${vm.id}`)).json<Vm>().expiresAt, at(48), "the refused extend changed nothing");

      assert.equal((await extend(vm, 24)).json<Vm>().expiresAt, at(72), "up to the policy exactly");
      const full = await extend(vm, 0.5);
      assert.equal(full.statusCode, 400);
      assert.match(full.json<Problem>().detail, /at most 0 more hours now/);
      clock = start + 10 * HOUR;
      assert.equal((await extend(vm, 10)).json<Vm>().expiresAt, at(82), "ten hours later, ten more hours are allowed");
      clock = start;
    });

    test("extending never shortens a life an admin set, nor gives an expiry to a VM that never expires", async () => {
      clock = start;
      const vm = await deploy(6);
      const far = await server.call(admin, "PATCH", `/vms/${vm.id}`, { expiresAt: at(200) });
      assert.equal(far.statusCode, 200, far.body);
      const refused = await extend(vm, 1);
      assert.equal(refused.statusCode, 400);
      assert.match(refused.json<Problem>().detail, /at most 0 more hours now/);
      assert.equal((await server.call(alice, "GET", `/vms/${vm.id}`)).json<Vm>().expiresAt, at(200));

      assert.equal((await server.call(admin, "PATCH", `/vms/${vm.id}`, { expiresAt: null })).statusCode, 200);
      const never = await extend(vm, 1);
      assert.equal(never.statusCode, 200, never.body);
      assert.equal(never.json<Vm>().expiresAt, null, "a VM that never expires stays so");
    });
  });
}

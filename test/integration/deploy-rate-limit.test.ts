// A user who deploys in a loop is slowed down with 429s that say when to retry, while other users
// deploy as usual; `deploysPerUserPerMinute = 0` turns the limit off. On SQLite and on PostgreSQL.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DIALECTS, KEY, NODE_TOKEN, startTestServer } from "../support/server.js";

const roomy = { hosts: [{ name: "h1", maxVms: 50, memoryMiB: 65536, cpus: 64, token: NODE_TOKEN }], hostnames: { count: 60 } };

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    test("deploys beyond the limit are 429 rate-limited with Retry-After, for that user only", async (t) => {
      const server = await startTestServer({ ...roomy, rateLimit: { deploysPerUserPerMinute: 3 } }, dialect);
      t.after(() => server.close());
      await server.bringNodeOnline();
      const [alice, bob] = [await server.tokenFor("alice"), await server.tokenFor("bob")];
      const deploy = (token: string) =>
        server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${token}` }, payload: { image: "tiny", sshKeys: [KEY] } });

      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await deploy(alice)).statusCode);
      assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
      const limited = await deploy(alice);
      assert.equal(limited.statusCode, 429);
      assert.match(limited.headers["content-type"] as string, /^application\/problem\+json/);
      assert.ok(Number(limited.headers["retry-after"]) > 0, `Retry-After: ${limited.headers["retry-after"]}`);
      const problem = limited.json<{ type: string; detail: string }>();
      assert.equal(problem.type, "/problems/rate-limited");
      assert.match(problem.detail, /3 deploys in a minute/);
      assert.match(problem.detail, /deploysPerUserPerMinute/);

      assert.equal((await deploy(bob)).statusCode, 201, "another user deploys as usual");
      const listed = await server.app.inject({ method: "GET", url: "/api/v1/vms", headers: { authorization: `Bearer ${alice}` } });
      assert.equal(listed.statusCode, 200, "the limited user still lists her VMs");
      assert.equal(listed.json<{ items: unknown[] }>().items.length, 3, "and the refused deploys made nothing");
      const anonymous = await server.app.inject({ method: "POST", url: "/api/v1/vms", payload: { image: "tiny" } });
      assert.equal(anonymous.statusCode, 401, "a caller without a token is told to log in, not counted");
    });

    test("deploysPerUserPerMinute = 0 turns the limit off", async (t) => {
      const server = await startTestServer({ ...roomy, rateLimit: { deploysPerUserPerMinute: 0 } }, dialect);
      t.after(() => server.close());
      await server.bringNodeOnline();
      const alice = await server.tokenFor("alice");
      for (let i = 0; i < 70; i++) {
        const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${alice}` }, payload: { image: "slc9", sshKeys: [KEY] } });
        assert.equal(res.statusCode, 400, `deploy ${i + 1}: ${res.body}`);
      }
    });
  });
}

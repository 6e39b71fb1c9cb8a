// The periodic work's lease, on SQLite and on PostgreSQL: one holder at a time; it renews while it
// lives; once it stops renewing, another replica takes it after it lapses, and not before.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DIALECTS, startTestServer } from "../../../test/support/server.js";
import { holdLease, releaseLease } from "./leases.js";

const at = (seconds: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, seconds));

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    test("one replica holds the lease until it lapses or is given up; then the other takes it", async (t) => {
      const server = await startTestServer({}, dialect);
      t.after(() => server.close());
      const db = server.ctx.db;
      const ttl = 15_000;
      assert.equal(await holdLease(db, "periodic", "a", at(0), ttl), true, "a free lease is taken");
      assert.equal(await holdLease(db, "periodic", "b", at(5), ttl), false, "a held lease is not");
      assert.equal(await holdLease(db, "periodic", "a", at(10), ttl), true, "its holder renews it");
      assert.equal(await holdLease(db, "periodic", "b", at(20), ttl), false, "renewed at 10 s, it holds until 25 s");
      assert.equal(await holdLease(db, "periodic", "b", at(26), ttl), true, "a lapsed lease goes to who asks");
      assert.equal(await holdLease(db, "periodic", "a", at(27), ttl), false, "the old holder has lost it");
      await releaseLease(db, "periodic", "b");
      assert.equal(await holdLease(db, "periodic", "a", at(28), ttl), true, "a lease given up is free at once");
    });

    test("replicas racing for a free lease: exactly one wins", async (t) => {
      const server = await startTestServer({}, dialect);
      t.after(() => server.close());
      const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => holdLease(server.ctx.db, "race", `r${i}`, at(0), 15_000)));
      assert.equal(wins.filter(Boolean).length, 1);
    });
  });
}

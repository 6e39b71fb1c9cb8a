// The VMs due for a policy action, on SQLite and on PostgreSQL: the live ones whose expiry has come,
// soonest first, never a terminated one and never one that has no expiry.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DIALECTS, startTestServer } from "../../../test/support/server.js";
import { ensureUser } from "./users.js";
import { insertVm, vmsDue } from "./vms.js";

const at = (minutes: number) => new Date(Date.UTC(2030, 0, 1, 0, minutes));

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    test("vmsDue answers the live VMs expired by then, soonest first, at most the limit", async (t) => {
      const server = await startTestServer({}, dialect);
      t.after(() => server.close());
      const db = server.ctx.db;
      await ensureUser(db, "alice", false, at(0).toISOString());
      const rows: Array<[string, string, number | null]> = [
        ["vm-late", "running", 50],
        ["vm-first", "running", 10],
        ["vm-gone", "terminated", 5],
        ["vm-failed", "failed", 20],
        ["vm-never", "running", null],
        ["vm-after", "pending", 70],
        ["vm-same-b", "provisioning", 30],
        ["vm-same-a", "running", 30],
      ];
      for (const [id, state, minutes] of rows) {
        await insertVm(db, {
          id,
          name: id,
          owner: "alice",
          image: "tiny",
          host: "h1",
          state,
          responding: 0,
          last_seen_at: null,
          memory_mib: 256,
          cpus: 1,
          created_at: at(0).toISOString(),
          expires_at: minutes === null ? null : at(minutes).toISOString(),
          ssh_port: null,
          ip: null,
          mac: `52:54:00:00:00:${String(rows.findIndex((r) => r[0] === id)).padStart(2, "0")}`,
          error: null,
          error_detail: null,
          ssh_host_keys: null,
          ssh_keys: "[]",
          updated_at: at(0).toISOString(),
          request_id: null,
        });
      }
      const due = await vmsDue(db, at(60), 100);
      assert.deepEqual(
        due.map((d) => d.id),
        ["vm-first", "vm-failed", "vm-same-a", "vm-same-b", "vm-late"],
        "expired live VMs by expiry then id; not the terminated one, the one without expiry, or the one expiring after",
      );
      assert.equal(due[0]!.expiresAt, at(10).toISOString());
      assert.deepEqual((await vmsDue(db, at(60), 2)).map((d) => d.id), ["vm-first", "vm-failed"], "the limit keeps the soonest");
      assert.deepEqual(await vmsDue(db, at(9), 100), [], "nothing is due before the first expiry");
    });
  });
}

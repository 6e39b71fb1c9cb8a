// The store's placement (takeSlot, through the placement index) picks exactly the host the pure rules
// of scheduler/placement.ts pick, on SQLite and on PostgreSQL, and keeps each host's use true.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DIALECTS, startTestServer } from "../../../test/support/server.js";
import { placeVm, type HostLoad } from "../scheduler/placement.js";
import { hostLoads, recordSync, releaseSlot, takeSlot } from "./hosts.js";

/** A small deterministic random sequence, so that a failing round can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    test("takeSlot picks the host placeVm picks, for hosts of every shape, and counts what it takes", async (t) => {
      const rand = random(7);
      const hosts = Array.from({ length: 12 }, (_, i) => ({
        name: `h${String(i).padStart(2, "0")}`,
        maxVms: Math.floor(rand() * 4),
        memoryMiB: 512 + Math.floor(rand() * 4) * 512,
        cpus: 1 + Math.floor(rand() * 3),
        token: `node-token-for-tests-${String(i).padStart(12, "0")}`,
      }));
      const server = await startTestServer({ hosts }, dialect);
      t.after(() => server.close());
      const db = server.ctx.db;
      const options = { now: new Date(), offlineAfterSeconds: 60, overcommit: { memory: 1, cpus: 1 } };
      // Some nodes online, some never seen.
      for (const h of hosts) {
        if (rand() < 0.75) await recordSync(db, h.name, { at: options.now, sshHost: "127.0.0.1", facts: { memoryMiB: 1, cpus: 1 } });
      }
      let placed = 0;
      let refused = 0;
      for (let round = 0; round < 40; round++) {
        const size = { memoryMiB: 128 + Math.floor(rand() * 4) * 128, cpus: 1 + Math.floor(rand() * 2) };
        const before: HostLoad[] = await hostLoads(db, options);
        const expected = placeVm(before, size)?.name;
        const taken = await db.transaction().execute((tx) => takeSlot(tx, size, options));
        assert.equal(taken, expected, `round ${round}: ${JSON.stringify(size)} on ${JSON.stringify(before)}`);
        if (taken === undefined) refused++;
        else placed++;
        if (taken !== undefined) {
          const after = (await hostLoads(db, options)).find((h) => h.name === taken)!;
          const was = before.find((h) => h.name === taken)!;
          assert.deepEqual([after.vms, after.usedMemoryMiB, after.usedCpus], [was.vms + 1, was.usedMemoryMiB + size.memoryMiB, was.usedCpus + size.cpus]);
          // Now and then a VM ends, and gives its slot back.
          if (rand() < 0.3) await releaseSlot(db, taken, size);
        }
      }
      assert.ok(placed >= 5 && refused >= 5, `the rounds both placed (${placed}) and refused (${refused}) VMs`);
    });
  });
}

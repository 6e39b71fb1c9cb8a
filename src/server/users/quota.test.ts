import assert from "node:assert/strict";
import { test } from "node:test";
import type { QuotaConfig } from "../config.js";
import { quotaFor, quotaProblem, type Quota } from "./quota.js";

const config: QuotaConfig = {
  maxVmsPerUser: 3,
  maxMemoryMiBPerUser: 1024,
  maxCpusPerUser: null,
  users: new Map([["alice", { maxVms: 10, maxCpus: 4 }]]),
};

test("a user's own table wins over the store's limit, which wins over the defaults", () => {
  assert.deepEqual(quotaFor(config, { name: "bob", maxVms: null }), { maxVms: 3, maxMemoryMiB: 1024, maxCpus: null });
  assert.deepEqual(quotaFor(config, { name: "bob", maxVms: 5 }), { maxVms: 5, maxMemoryMiB: 1024, maxCpus: null });
  assert.deepEqual(quotaFor(config, { name: "alice", maxVms: 5 }), { maxVms: 10, maxMemoryMiB: 1024, maxCpus: 4 });
});

test("one more VM is refused by the first limit it would pass, named with what to do", () => {
  const quota: Quota = { maxVms: 3, maxMemoryMiB: 1024, maxCpus: 4 };
  const size = { memoryMiB: 256, cpus: 1 };
  const rows: Array<[string, { vms: number; memoryMiB: number; cpus: number }, string[] | undefined]> = [
    ["room left", { vms: 2, memoryMiB: 768, cpus: 3 }, undefined],
    ["VMs", { vms: 3, memoryMiB: 0, cpus: 0 }, ["3 VMs", "maxVms", "terminate"]],
    ["memory", { vms: 1, memoryMiB: 800, cpus: 1 }, ["1056 MiB", "1024 MiB", "maxMemoryMiB"]],
    ["cpus", { vms: 1, memoryMiB: 256, cpus: 4 }, ["5", "4 cpus", "maxCpus"]],
  ];
  for (const [why, used, words] of rows) {
    const problem = quotaProblem(quota, used, size);
    if (words === undefined) assert.equal(problem, undefined, why);
    else for (const w of words) assert.ok(problem?.includes(w), `${why}: '${problem}' should mention '${w}'`);
  }
  assert.equal(quotaProblem({ maxVms: null, maxMemoryMiB: null, maxCpus: null }, { vms: 99, memoryMiB: 1e6, cpus: 999 }, size), undefined);
});

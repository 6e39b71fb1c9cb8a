import assert from "node:assert/strict";
import { test } from "node:test";
import type { Vm } from "../core/api.js";
import { Failure } from "./errors.js";
import { sampleVm } from "../../test/support/fixtures.js";
import { resolveVm } from "./resolve-vm.js";

function vm(id: string, name: string, state: Vm["state"] = "running"): Vm {
  return sampleVm({ id, name, state, responding: true });
}

const live = [vm("8a9749eb-0000-4000-8000-000000000001", "vm-001"), vm("8a97aaaa-0000-4000-8000-000000000002", "vm-002")];
const past = [
  vm("c0ffee00-0000-4000-8000-000000000003", "vm-001", "terminated"),
  { ...vm("dead0000-0000-4000-8000-000000000004", "vm-009", "terminated"), createdAt: "2030-01-01T00:00:00Z" },
  { ...vm("dead1111-0000-4000-8000-000000000005", "vm-009", "terminated"), createdAt: "2030-02-01T00:00:00Z" },
];
const client = {
  getVm: async (id: string) => [...live, ...past].find((v) => v.id === id) ?? assert.fail(`no ${id}`),
  listVms: async (o: { terminated?: boolean } = {}) => (o.terminated ? past : live),
};

test("a VM is found by its full id, the short id `ls` prints, or its name; live VMs first", async () => {
  const rows: Array<[string, string]> = [
    ["8a9749eb-0000-4000-8000-000000000001", "8a9749eb-0000-4000-8000-000000000001"],
    ["8a9749eb", "8a9749eb-0000-4000-8000-000000000001"],
    ["8a97a", "8a97aaaa-0000-4000-8000-000000000002"],
    ["vm-002", "8a97aaaa-0000-4000-8000-000000000002"],
    // The name of a live VM wins over a terminated VM that had it before.
    ["vm-001", "8a9749eb-0000-4000-8000-000000000001"],
    ["c0ffee00", "c0ffee00-0000-4000-8000-000000000003"],
    // A name no live VM has: the latest terminated VM that had it.
    ["vm-009", "dead1111-0000-4000-8000-000000000005"],
  ];
  for (const [ref, id] of rows) assert.equal((await resolveVm(client, ref)).id, id, ref);
});

test("an ambiguous or unknown reference says so and what to give instead", async () => {
  const rows: Array<[string, RegExp]> = [
    ["8a97", /'8a97' matches 2 VMs \(vm-001 \(8a9749eb\), vm-002 \(8a97aaaa\)\); give more of the id/],
    ["8a9", /no VM with id or name '8a9' is yours; `vgrid ls` lists your VMs/],
    ["vm-404", /no VM with id or name 'vm-404'/],
  ];
  for (const [ref, words] of rows) {
    await assert.rejects(resolveVm(client, ref), (err: unknown) => err instanceof Failure && words.test(err.message), ref);
  }
});

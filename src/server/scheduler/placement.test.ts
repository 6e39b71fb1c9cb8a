import assert from "node:assert/strict";
import { test } from "node:test";
import { couldEverFit, placeVm, type HostLoad } from "./placement.js";

const host = (over: Partial<HostLoad>): HostLoad => ({
  name: "h1",
  online: true,
  maxVms: 4,
  vms: 0,
  memoryMiB: 4096,
  usedMemoryMiB: 0,
  cpus: 4,
  usedCpus: 0,
  ...over,
});
const small = { memoryMiB: 256, cpus: 1 };

test("placement skips hosts that are full, offline or short of memory or cpus", () => {
  const rows: Array<[string, HostLoad[], string | undefined]> = [
    ["a free host", [host({})], "h1"],
    ["full by VM count", [host({ vms: 4 })], undefined],
    ["offline", [host({ online: false })], undefined],
    ["memory exhausted", [host({ usedMemoryMiB: 4000 })], undefined],
    ["cpus exhausted", [host({ usedCpus: 4 })], undefined],
    ["the less loaded of two", [host({ name: "a", vms: 3 }), host({ name: "b", vms: 1 })], "b"],
    ["ties go to the name", [host({ name: "b" }), host({ name: "a" })], "a"],
  ];
  for (const [why, hosts, expected] of rows) {
    assert.equal(placeVm(hosts, small)?.name, expected, why);
  }
});

test("a size larger than every host can never fit", () => {
  assert.equal(couldEverFit([host({})], { memoryMiB: 8192, cpus: 1 }), false);
  assert.equal(couldEverFit([host({})], { memoryMiB: 256, cpus: 8 }), false);
  assert.equal(couldEverFit([host({ vms: 4 })], small), true);
});

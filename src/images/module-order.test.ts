import { test } from "node:test";
import assert from "node:assert/strict";
import { moduleName, orderModules, parseModinfoDepends } from "./module-order.js";

// What `modinfo -F depends` says for the Debian 6.1 kernel's virtio, seed and network modules.
const DEBIAN_6_1 = new Map<string, string[]>([
  ["virtio_ring", []],
  ["virtio", []],
  ["virtio_pci_modern_dev", []],
  ["virtio_pci_legacy_dev", []],
  ["virtio_pci", ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"]],
  ["virtio_blk", ["virtio", "virtio_ring"]],
  ["cdrom", []],
  ["isofs", ["cdrom"]],
  ["failover", []],
  ["net_failover", ["failover"]],
  ["virtio_net", ["virtio_ring", "virtio", "net_failover"]],
  ["virtio_rng", ["virtio_ring", "virtio"]],
]);

test("the seed and network modules load after everything they depend on", () => {
  const order = orderModules(["virtio_pci", "virtio_blk", "isofs", "virtio_net"], DEBIAN_6_1);
  assert.deepEqual(order, [
    "virtio_ring",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio",
    "virtio_pci",
    "virtio_blk",
    "cdrom",
    "isofs",
    "failover",
    "net_failover",
    "virtio_net",
  ]);
  for (const [name, deps] of DEBIAN_6_1) {
    if (!order.includes(name)) continue;
    for (const dep of deps) assert.ok(order.indexOf(dep) < order.indexOf(name), `${dep} before ${name}`);
  }
});

test("a module asked for twice, or also reached as a dependency, appears once", () => {
  assert.deepEqual(orderModules(["virtio_blk", "virtio", "virtio_blk"], DEBIAN_6_1), ["virtio", "virtio_ring", "virtio_blk"]);
});

test("file names with dashes or compression suffixes name the kernel's module", () => {
  const cases: [string, string][] = [
    ["kernel/drivers/char/hw_random/virtio-rng.ko", "virtio_rng"],
    ["virtio_net.ko.xz", "virtio_net"],
    ["isofs.ko.zst", "isofs"],
    ["virtio_pci", "virtio_pci"],
  ];
  for (const [input, expected] of cases) assert.equal(moduleName(input), expected, input);
  assert.deepEqual(orderModules(["virtio-rng"], DEBIAN_6_1), ["virtio_ring", "virtio", "virtio_rng"]);
});

test("modinfo's depends line becomes module names", () => {
  const cases: [string, string[]][] = [
    ["virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio\n", ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"]],
    ["\n", []],
    ["", []],
    ["some-mod\n", ["some_mod"]],
  ];
  for (const [output, expected] of cases) assert.deepEqual(parseModinfoDepends(output), expected, JSON.stringify(output));
});

test("a module the kernel package lacks is named in the error, with what needed it", () => {
  const depends = new Map([["virtio_blk", ["virtio"]]]);
  assert.throws(() => orderModules(["virtio_blk"], depends), /'virtio' \(needed by virtio_blk\) is not in the kernel package/);
  assert.throws(() => orderModules(["nosuch"], depends), /'nosuch' is not in the kernel package/);
});

test("a dependency cycle is an error that shows the cycle", () => {
  const depends = new Map([
    ["a", ["b"]],
    ["b", ["a"]],
  ]);
  assert.throws(() => orderModules(["a"], depends), /cycle: a -> b -> a/);
});

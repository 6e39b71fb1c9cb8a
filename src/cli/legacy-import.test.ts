import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseLegacyIni } from "../core/legacy-ini.js";
import { loadNodeConfig } from "../node/config-file.js";
import { loadServerConfig } from "../server/config.js";
import { importLegacyConfig } from "./legacy-import.js";

const COMMON = `[VMImages]
slc4: Scientific Linux CERN 4
sl5: Scientific Linux 5

[PhysicalHostsPool]
node1.cern.ch: 4
node2.cern.ch: 2

[VirtualHostsPool]
ctb-generic-19: 00:16:3E:00:00:13
CTB-Generic-20: xencons=tty
`;
const SERVER = `[General]
EnvUsernameVariable: REMOTE_USER

[Administrators]
1: John Smith
2: jdoe
`;
const NODE = `[General]
serverHostname: vgrid.cern.ch
imageDirectory: /var/vgrid/images
volumeGroupName: vg1

[VMImageFiles]
default: slc4.img
sl5: sl5-root.img

[VMSwapSize]
default: 512
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgrid-legacy-"));
});
after(async () => rm(dir, { recursive: true, force: true }));

let tokens = 0;
function convert(files: { common?: string; server?: string; node?: string }, nodeName?: string) {
  return importLegacyConfig({
    common: parseLegacyIni("common.cfg", files.common ?? COMMON),
    server: parseLegacyIni("server.cfg", files.server ?? SERVER),
    node: parseLegacyIni("node.cfg", files.node ?? NODE),
    nodeName,
    newToken: () => `token-${String(++tokens).padStart(32, "0")}`,
  });
}

async function load(result: { serverToml: string; nodeToml: string }) {
  const serverFile = join(dir, `server-${tokens}.toml`);
  const nodeFile = join(dir, `node-${tokens}.toml`);
  await writeFile(serverFile, result.serverToml);
  await writeFile(nodeFile, result.nodeToml);
  return { server: await loadServerConfig(serverFile), node: await loadNodeConfig(nodeFile) };
}

test("a seed-like installation becomes a server.toml and node.toml that vgrid loads", async () => {
  const result = convert({});
  const { server, node } = await load(result);
  assert.deepEqual(server.admins, ["John_Smith", "jdoe"]);
  assert.deepEqual(
    server.hosts.map((h) => [h.name, h.maxVms, h.memoryMiB, h.cpus]),
    [
      ["node1.cern.ch", 4, 65536, 16],
      ["node2.cern.ch", 2, 65536, 16],
    ],
  );
  assert.deepEqual(server.hostnames, [
    { name: "ctb-generic-19", extra: "00:16:3E:00:00:13", mac: "00:16:3e:00:00:13" },
    { name: "ctb-generic-20", extra: "xencons=tty", mac: "52:54:00:00:00:02" },
  ]);
  assert.deepEqual(
    server.images.map((i) => [i.tag, i.name, i.disk, i.boot]),
    [
      ["slc4", "Scientific Linux CERN 4", "slc4.img", "disk"],
      ["sl5", "Scientific Linux 5", "sl5-root.img", "disk"],
    ],
  );
  assert.equal(node.name, "node1.cern.ch");
  assert.equal(node.server, "http://vgrid.cern.ch:8080");
  assert.equal(node.imageDirectory, "/var/vgrid/images");
  assert.equal(node.token, server.hosts[0]?.token);
  assert.notEqual(server.hosts[0]?.token, server.hosts[1]?.token);
});

test("the warnings name what the operator must set and what was dropped", () => {
  const { warnings } = convert({});
  for (const words of ["memoryMiB and cpus", "REMOTE_USER", "API tokens", "volumeGroupName", "[VMSwapSize] dropped"]) {
    assert.ok(warnings.some((w) => w.includes(words)), `a warning with '${words}' in ${JSON.stringify(warnings)}`);
  }
});

test("--node-name picks the host whose token node.toml gets", async () => {
  const { server, node } = await load(convert({}, "NODE2.cern.ch"));
  assert.equal(node.name, "node2.cern.ch");
  assert.equal(node.token, server.hosts[1]?.token);
});

test("strings that would break TOML are escaped, not pasted", async () => {
  const common = COMMON.replace("Scientific Linux CERN 4", 'SLC "4" \\ x = 1') + "h1: a\"b\n";
  const { server } = await load(convert({ common }));
  assert.equal(server.images[0]?.name, 'SLC "4" \\ x = 1');
  assert.equal(server.hostnames.at(-1)?.extra, 'a"b');
});

test("generated MACs skip the ones the pool already names", async () => {
  const common = COMMON.replace("ctb-generic-19: 00:16:3E:00:00:13", "ctb-generic-19: 52:54:00:00:00:02");
  const { server } = await load(convert({ common }));
  assert.deepEqual(
    server.hostnames.map((h) => h.mac),
    ["52:54:00:00:00:02", "52:54:00:00:00:03"],
  );
});

for (const [name, files, nodeName, words] of [
  ["a bad image tag", { common: COMMON.replace("sl5:", "sl 5!:") }, undefined, ["common.cfg", "sl 5!"]],
  ["an image without a disk", { node: NODE.replace("default: slc4.img\n", "") }, undefined, ["node.cfg", "[VMImageFiles]", "slc4"]],
  ["a non-integer maxVms", { common: COMMON.replace("node1.cern.ch: 4", "node1.cern.ch: four") }, undefined, ["common.cfg", "node1.cern.ch", "four"]],
  ["a bad pool hostname", { common: COMMON.replace("ctb-generic-19:", "ctb_generic_19:") }, undefined, ["common.cfg", "ctb_generic_19"]],
  ["two hostnames with one MAC", { common: COMMON.replace("xencons=tty", "00:16:3e:00:00:13") }, undefined, ["common.cfg", "00:16:3e:00:00:13"]],
  ["a bad admin name", { server: SERVER.replace("jdoe", "../etc") }, undefined, ["server.cfg", "[Administrators] 2"]],
  ["a node name not in the pool", {}, "node9", ["common.cfg", "node9", "node1.cern.ch"]],
  ["no physical hosts", { common: COMMON.replace(/node\d\.cern\.ch: \d\n/g, "") }, undefined, ["common.cfg", "[PhysicalHostsPool]", "no hosts"]],
  ["no server hostname", { node: NODE.replace("serverHostname: vgrid.cern.ch\n", "") }, undefined, ["node.cfg", "serverHostname"]],
] as const) {
  test(`refuses ${name}, naming it`, () => {
    assert.throws(
      () => convert(files, nodeName),
      (err: Error) => words.every((w) => err.message.includes(w)),
    );
  });
}

test("fully qualified pool names are kept whole, as the seed had them", async () => {
  const common = COMMON.replace("ctb-generic-19: 00:16:3E:00:00:13", "ctb-generic-19.cern.ch: 00:16:3E:00:00:13");
  const { server } = await load(convert({ common }));
  assert.equal(server.hostnames[0]?.name, "ctb-generic-19.cern.ch");
});

test("an image whose disk a sidecar in the image directory describes keeps how it boots and its sizes", async () => {
  const tiny = {
    tag: "tiny", name: "Tiny", boot: "direct" as const, disk: "tiny.qcow2", kernel: "tiny.vmlinuz", initrd: "tiny.initrd",
    cmdline: "console=ttyS0 vgrid_username=${username}", minMemoryMiB: 128, defaultMemoryMiB: 256, maxMemoryMiB: 2048, maxCpus: 4,
    description: "a busybox guest", restartOnCrash: false, defaultHours: null, maxHours: null,
  };
  const node = NODE.replace("default: slc4.img", "default: tiny.qcow2");
  const result = importLegacyConfig({
    common: parseLegacyIni("common.cfg", COMMON),
    server: parseLegacyIni("server.cfg", SERVER),
    node: parseLegacyIni("node.cfg", node),
    newToken: () => `token-${String(++tokens).padStart(32, "0")}`,
    sidecars: [tiny],
  });
  const { server } = await load(result);
  const slc4 = server.images.find((i) => i.tag === "slc4");
  assert.deepEqual(slc4, { ...tiny, tag: "slc4", name: "Scientific Linux CERN 4" }, "direct boot, kernel, initrd, sizes and description kept");
  assert.equal(server.images.find((i) => i.tag === "sl5")?.boot, "disk");
  assert.ok(result.warnings.some((w) => w.includes("no sidecar") && w.includes("sl5-root.img")), JSON.stringify(result.warnings));
});

test("an image that is a root filesystem tarball is named as one to import, not written as a disk", async () => {
  const node = NODE.replace("sl5: sl5-root.img", "sl5: sl5.tar.gz");
  const result = convert({ node });
  const { server } = await load(result);
  assert.deepEqual(server.images.map((i) => i.tag), ["slc4"]);
  const warning = result.warnings.find((w) => w.includes("sl5.tar.gz"));
  assert.ok(warning, JSON.stringify(result.warnings));
  assert.match(warning, /vgrid image import \/var\/vgrid\/images\/sl5\.tar\.gz --tag sl5 --name 'Scientific Linux 5' --out \/var\/vgrid\/images/);
});

// `vgrid config import-legacy` on a seed-like VGrid installation: the files it writes load with vgrid's own
// loaders, it never overwrites, and bad input ends with one line naming the file.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { loadNodeConfig } from "../../src/node/config-file.js";
import { loadServerConfig } from "../../src/server/config.js";
import { VGRID, tempDir } from "../support/vgrid.js";

const exec = promisify(execFile);
let dir: string;

const COMMON = `# common.cfg: identical on all machines
[VMImages]
slc4: Scientific Linux CERN 4

[PhysicalHostsPool]
node1.cern.ch: 4

[VirtualHostsPool]
ctb-generic-19: 00:16:3e:00:00:13
`;
const SERVER = `[General]
EnvUsernameVariable: REMOTE_USER

[Administrators]
1: John Smith
`;
const NODE = `[General]
serverHostname: vgrid.cern.ch
imageDirectory: /var/vgrid/images
volumeGroupName: vg1

[VMImageFiles]
default: slc4.img

[VMSwapSize]
default: 512
`;

before(async () => {
  dir = await tempDir("config-import");
  await writeFile(join(dir, "common.cfg"), COMMON);
  await writeFile(join(dir, "server.cfg"), SERVER);
  await writeFile(join(dir, "node.cfg"), NODE);
});

after(async () => rm(dir, { recursive: true, force: true }));

/** Runs the real command; resolves to its exit status and output whatever the status. */
async function vgrid(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(VGRID, ["config", "import-legacy", ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function flags(out: string, files: { common?: string } = {}): string[] {
  return ["--common", files.common ?? join(dir, "common.cfg"), "--server", join(dir, "server.cfg"), "--node", join(dir, "node.cfg"), "--out", out];
}

test("import-legacy writes a server.toml and node.toml that vgrid loads, with warnings for what it could not carry", async () => {
  const out = join(dir, "out");
  const result = await vgrid(flags(out));
  assert.equal(result.code, 0, result.stderr);
  const serverFile = join(out, "server.toml");
  const nodeFile = join(out, "node.toml");
  assert.deepEqual(result.stdout.trim().split("\n"), [serverFile, nodeFile]);
  const warnings = result.stderr.trim().split("\n");
  assert.ok(warnings.every((line) => line.startsWith("vgrid: warning: ")), result.stderr);
  for (const words of ["memoryMiB and cpus", "REMOTE_USER", "volumeGroupName", "[VMSwapSize]"]) {
    assert.ok(warnings.some((line) => line.includes(words)), `a warning about ${words} in:\n${result.stderr}`);
  }

  const server = await loadServerConfig(serverFile);
  const node = await loadNodeConfig(nodeFile);
  assert.deepEqual(server.admins, ["John_Smith"]);
  assert.deepEqual(
    server.hosts.map((h) => [h.name, h.maxVms]),
    [["node1.cern.ch", 4]],
  );
  assert.deepEqual(
    server.hostnames.map((h) => [h.name, h.mac]),
    [["ctb-generic-19", "00:16:3e:00:00:13"]],
  );
  assert.deepEqual(
    server.images.map((i) => [i.tag, i.disk]),
    [["slc4", "slc4.img"]],
  );
  assert.equal(node.name, "node1.cern.ch");
  assert.equal(node.server, "http://vgrid.cern.ch:8080");
  assert.equal(node.imageDirectory, "/var/vgrid/images");
  assert.equal(node.token, server.hosts[0]?.token);
  for (const file of [serverFile, nodeFile]) assert.equal((await stat(file)).mode & 0o777, 0o600, `${file} holds node tokens`);
});

test("a second import into the same directory fails and changes nothing", async () => {
  const out = join(dir, "again");
  assert.equal((await vgrid(flags(out))).code, 0);
  const before = await Promise.all(["server.toml", "node.toml"].map((f) => readFile(join(out, f), "utf8")));
  const second = await vgrid(flags(out));
  assert.equal(second.code, 1);
  assert.match(second.stderr, /server\.toml already exists.*another --out/);
  const now = await Promise.all(["server.toml", "node.toml"].map((f) => readFile(join(out, f), "utf8")));
  assert.deepEqual(now, before);
});

test("a malformed file fails with one line naming the file and the line or key", async () => {
  await mkdir(join(dir, "bad"), { recursive: true });
  for (const [name, text, words] of [
    ["no-section.cfg", "slc4: Scientific Linux CERN 4\n", ["no-section.cfg", "line 1"]],
    ["max-vms.cfg", COMMON.replace("node1.cern.ch: 4", "node1.cern.ch: lots"), ["max-vms.cfg", "node1.cern.ch", "lots"]],
  ] as const) {
    const file = join(dir, "bad", name);
    await writeFile(file, text);
    const out = join(dir, "bad", `out-${name}`);
    const result = await vgrid(flags(out, { common: file }));
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    for (const word of words) assert.ok(lines[0]!.includes(word), `'${word}' in ${lines[0]}`);
    assert.deepEqual(await readdir(join(dir, "bad")).then((names) => names.filter((n) => n.startsWith("out-"))), []);
  }
});

test("a missing flag is a usage error naming it", async () => {
  const args = flags(join(dir, "unused")).slice(0, -2);
  const result = await vgrid(args);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /missing --out/);
});

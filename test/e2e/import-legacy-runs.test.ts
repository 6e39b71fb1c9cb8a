// `vgrid config import-legacy` starts a working vgrid: a VGrid installation's three .cfg files (the
// tiny image as its image, a fully qualified name in its pool) become server.toml and node.toml that
// run a VM as the import wrote them, but for the server's address and the node's paths on this machine.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually, sshKeygen, sshRun } from "../support/processes.js";
import { Api, IMAGES, VGRID, cleanUp, startVgrid, tempDir, type VgridProcess } from "../support/vgrid.js";

const run = promisify(execFile);
let dir: string;
let server: VgridProcess | undefined;
let node: VgridProcess | undefined;

before(async () => {
  dir = await tempDir("legacy-run");
});

after(async () => {
  await node?.stop("SIGTERM");
  await cleanUp(server, dir);
});

test("an imported VGrid installation runs a VM with the image's direct boot and the pool's fully qualified name", async () => {
  const images = join(dir, "images");
  await mkdir(images);
  for (const f of ["tiny.qcow2", "tiny.vmlinuz", "tiny.initrd", "tiny.json"]) await copyFile(join(IMAGES, f), join(images, f));
  await writeFile(join(dir, "common.cfg"), "[VMImages]\ntiny: The tiny image\n\n[PhysicalHostsPool]\nnode1.cern.ch: 2\n\n[VirtualHostsPool]\nctb-generic-19.cern.ch: 00:16:3e:00:00:13\n");
  await writeFile(join(dir, "server.cfg"), "[General]\nEnvUsernameVariable: REMOTE_USER\n\n[Administrators]\n1: John Smith\n");
  await writeFile(join(dir, "node.cfg"), `[General]\nserverHostname: vgrid.cern.ch\nimageDirectory: ${images}\n\n[VMImageFiles]\ndefault: tiny.qcow2\n`);
  const out = join(dir, "out");
  await run(VGRID, ["config", "import-legacy", "--common", join(dir, "common.cfg"), "--server", join(dir, "server.cfg"), "--node", join(dir, "node.cfg"), "--out", out]);

  // The server's address and the node's paths are this machine's; everything else is as imported.
  const port = await pickFreePort("127.0.0.1");
  const serverToml = `${await readFile(join(out, "server.toml"), "utf8")}\n[listen]\nhost = "127.0.0.1"\nport = ${port}\n[database]\nfile = "vgrid.db"\n`;
  await writeFile(join(out, "server.toml"), serverToml);
  const nodeToml = (await readFile(join(out, "node.toml"), "utf8")).replace(/^server = .*$/m, `server = "http://127.0.0.1:${port}"`);
  await writeFile(join(out, "node.toml"), `${nodeToml}stateDir = "${join(dir, "node")}"\nsshBind = "127.0.0.1"\nsshHost = "127.0.0.1"\n`);

  server = startVgrid(["server", "--config", join(out, "server.toml")]);
  await eventually("the server to listen", 60_000, async () => {
    if (!server!.running) throw new Hopeless(`vgrid server exited: ${server!.output}`);
    return server!.output.includes("listening on") ? true : undefined;
  }, 200);
  node = startVgrid(["node", "--config", join(out, "node.toml")]);
  await eventually("the node to connect", 60_000, async () => {
    if (!node!.running) throw new Hopeless(`vgrid node exited: ${node!.output}`);
    return node!.output.includes("connected to the server") ? true : undefined;
  }, 200);

  const { stdout } = await run(VGRID, ["token", "create", "--user", "John Smith", "--config", join(out, "server.toml")]);
  const admin = new Api(`http://127.0.0.1:${port}`, stdout.trim().split("\n").at(-1)!);
  const me = await admin.call<{ username: string; admin: boolean }>("GET", "/me");
  assert.deepEqual([me.body.username, me.body.admin], ["John_Smith", true], "the imported administrator");
  const key = await sshKeygen(dir, "john");
  const catalog = await admin.call<{ items: Array<{ tag: string; boot: string; defaultMemoryMiB: number }> }>("GET", "/images");
  assert.deepEqual(catalog.body.items.map((i) => [i.tag, i.boot, i.defaultMemoryMiB]), [["tiny", "direct", 256]], "the sidecar's boot and sizes");

  const vm = await admin.waitReady((await admin.deploy({ image: "tiny", sshKeys: [key.publicKey] })).id);
  assert.equal(vm.name, "ctb-generic-19.cern.ch");
  assert.equal(vm.mac, "00:16:3e:00:00:13", "the pool entry's MAC");
  const names = (await sshRun(key.privateKey, vm.ssh!.host, vm.ssh!.port, "hostname; cat /etc/hosts")).split("\n");
  assert.equal(names[0], "ctb-generic-19", "the guest's hostname is the first label");
  assert.ok(names.some((l) => /\bctb-generic-19\.cern\.ch\b/.test(l)), `the FQDN is the guest's: ${names.join(" | ")}`);
  await admin.terminateAndWait(vm.id);
});

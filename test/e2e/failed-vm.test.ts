// A VM the node cannot start ends `failed` with a reason a person can act on; terminating it then
// gives back its slot and hostname, and the node keeps no file of it.

import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, sshKeygen } from "../support/processes.js";
import { Api, IMAGES, cleanUp, startUp, tempDir, vmDirs, type Up } from "../support/vgrid.js";

let up: Up | undefined;
let dir: string;

before(async () => {
  dir = await tempDir("failed");
  const images = join(dir, "images");
  await mkdir(images);
  // An image whose disk was never copied to the node, beside a working tiny image.
  for (const f of ["tiny.qcow2", "tiny.vmlinuz", "tiny.initrd", "tiny.json"]) await copyFile(join(IMAGES, f), join(images, f));
  await writeFile(
    join(images, "lost.json"),
    JSON.stringify({ tag: "lost", name: "Lost disk", boot: "disk", disk: "lost.qcow2", minMemoryMiB: 128, defaultMemoryMiB: 256, maxMemoryMiB: 512, maxCpus: 1 }),
  );
  up = await startUp({ maxVms: 1, dataDir: join(dir, "data"), images });
});

after(async () => {
  await cleanUp(up?.proc, dir);
});

test("a VM whose image is missing on the node fails with the reason, and terminating it frees everything", async () => {
  const api = new Api(up!.url, up!.adminToken);
  const key = (await sshKeygen(dir)).publicKey;
  const vm = await api.deploy({ image: "lost", sshKeys: [key] });
  const failed = await eventually("the VM to fail", 60_000, async () => {
    const now = await api.vm(vm.id);
    return now.state === "failed" ? now : undefined;
  });
  assert.match(failed.error ?? "", /lost\.qcow2.*not in the image directory/);

  // It still holds the host's only slot until its owner terminates it.
  const refused = await api.call<{ type: string }>("POST", "/vms", { image: "tiny", sshKeys: [key] });
  assert.equal(refused.body.type, "/problems/no-capacity");

  await api.terminateAndWait(vm.id);
  assert.deepEqual(await vmDirs(join(dir, "data", "node")), [], "the node keeps no file of it");
  const next = await api.deploy({ image: "tiny", sshKeys: [key] });
  assert.equal(next.name, vm.name, "its hostname went back to the pool");
  await api.terminateAndWait(next.id);
});

// `vgrid up` across restarts, as API.md promises: Ctrl-C stops the VMs and the next `vgrid up` on the
// same data dir boots them again; with --keep-vms, or after a SIGKILL, they keep running and are re-adopted.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { processesMentioning, sshHostKey, sshKeygen, sshRun } from "../support/processes.js";
import { Api, cleanUp, startUp, tempDir, type Up } from "../support/vgrid.js";

let up: Up | undefined;
let dataDir: string;
let keysDir: string;

before(async () => {
  dataDir = await tempDir("up-restart");
  keysDir = await tempDir("keys");
});

after(async () => {
  await cleanUp(up?.proc, dataDir);
  await cleanUp(undefined, keysDir);
});

test("VMs survive vgrid up restarts: stopped by Ctrl-C and booted again, or left running and re-adopted", async () => {
  const key = await sshKeygen(keysDir);
  up = await startUp({ maxVms: 2, dataDir });
  let api = new Api(up.url, up.adminToken);
  const vm = await api.waitReady((await api.deploy({ image: "tiny", sshKeys: [key.publicKey] })).id);
  const vmDir = join(dataDir, "node", "vms", vm.id);
  const hostKey = await sshHostKey(vm.ssh!.host, vm.ssh!.port);

  // Ctrl-C: the VM is stopped, its disk kept; the next `vgrid up` boots it again.
  await up.proc.stop("SIGINT");
  assert.deepEqual(await processesMentioning(vmDir), [], "Ctrl-C stopped the VM's QEMU");
  up = await startUp({ maxVms: 2, dataDir });
  api = new Api(up.url, up.adminToken);
  const again = await api.waitReady(vm.id);
  assert.equal((await sshRun(key.privateKey, again.ssh!.host, again.ssh!.port, "hostname")).trim(), vm.name);
  assert.equal(await sshHostKey(again.ssh!.host, again.ssh!.port), hostKey, "the VM booted again keeps its ssh host key");
  const pid = await processesMentioning(vmDir);
  assert.equal(pid.length, 1);

  // --keep-vms: Ctrl-C leaves the VM running, the next `vgrid up` adopts the same QEMU.
  await up.proc.stop("SIGINT");
  up = await startUp({ maxVms: 2, dataDir, keepVms: true });
  api = new Api(up.url, up.adminToken);
  const booted = await api.waitReady(vm.id);
  const pidKept = await processesMentioning(vmDir);
  await up.proc.stop("SIGINT");
  assert.deepEqual(await processesMentioning(vmDir), pidKept, "--keep-vms leaves QEMU running");

  // A crash of vgrid up (SIGKILL) after that: the VM runs on and is adopted, not started twice.
  up = await startUp({ maxVms: 2, dataDir });
  await up.proc.stop("SIGKILL");
  assert.deepEqual(await processesMentioning(vmDir), pidKept, "QEMU outlives a killed vgrid up");
  up = await startUp({ maxVms: 2, dataDir });
  api = new Api(up.url, up.adminToken);
  const adopted = await api.waitReady(vm.id);
  assert.deepEqual(adopted.ssh, booted.ssh, "the adopted VM keeps its port");
  assert.deepEqual(await processesMentioning(vmDir), pidKept, "one QEMU, the same one");

  await api.terminateAndWait(vm.id);
  assert.deepEqual(await processesMentioning(vmDir), []);
});

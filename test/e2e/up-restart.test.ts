// `vgrid up` across restarts, as API.md promises: Ctrl-C stops the VMs and the next `vgrid up` on the
// same data dir boots them again; with --keep-vms, or after a SIGKILL, they keep running and are re-adopted.
// The VM's boot log follows: the kernel's lines of each boot, once each, whichever agent shipped them.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, processesMentioning, sshHostKey, sshKeygen, sshRun } from "../support/processes.js";
import { Api, cleanUp, startUp, tempDir, type Up } from "../support/vgrid.js";

let up: Up | undefined;
let dataDir: string;
let keysDir: string;

/** How many times `text` is in `log`. */
const count = (log: string, text: string) => log.split(text).length - 1;

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
  // The boot log: the tiny guest's kernel lines, then its /init's (the host keys it printed).
  const firstBoot = await eventually("the kernel's boot lines in the VM's log", 60_000, async () => {
    const log = await api.log(vm.id);
    return log.includes("-----END SSH HOST KEY KEYS-----") ? log : undefined;
  });
  assert.match(firstBoot, /^\[ *0\.0+\] Linux version \d/, "the log starts with the kernel's banner");
  assert.match(firstBoot, /Command line: console=ttyS0 .*vgrid_username=/);

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
  // Its QEMU wrote its console from zero: the log holds both boots, the first as it was.
  const twoBoots = await eventually("the second boot in the VM's log", 60_000, async () => {
    const log = await api.log(vm.id);
    return count(log, "-----END SSH HOST KEY KEYS-----") === 2 ? log : undefined;
  });
  assert.ok(twoBoots.startsWith(firstBoot), "the first boot's lines stay as they were");
  assert.equal(count(twoBoots, "] Linux version "), 2, twoBoots);

  // --keep-vms: Ctrl-C leaves the VM running, the next `vgrid up` adopts the same QEMU.
  await up.proc.stop("SIGINT");
  up = await startUp({ maxVms: 2, dataDir, keepVms: true });
  api = new Api(up.url, up.adminToken);
  const booted = await api.waitReady(vm.id);
  const pidKept = await processesMentioning(vmDir);
  // The Ctrl-C before it stopped the VM (that `vgrid up` had no --keep-vms): a third boot.
  const threeBoots = await eventually("the third boot in the VM's log", 60_000, async () => {
    const log = await api.log(vm.id);
    return count(log, "-----END SSH HOST KEY KEYS-----") === 3 ? log : undefined;
  });
  assert.ok(threeBoots.startsWith(twoBoots));
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
  // The adopting agents went on from where the server's log ends: a line the guest prints now comes
  // after the three boots, and nothing of them came twice.
  await sshRun(key.privateKey, adopted.ssh!.host, adopted.ssh!.port, "echo vgrid-boot-log-marker > /dev/ttyS0");
  const adoptedLog = await eventually("the line printed after the adoptions", 60_000, async () => {
    const log = await api.log(vm.id);
    return log.includes("vgrid-boot-log-marker") ? log : undefined;
  });
  assert.ok(adoptedLog.startsWith(threeBoots), "the log before the adoptions is as it was");
  assert.equal(count(adoptedLog, "] Linux version "), 3, adoptedLog);
  assert.equal(count(adoptedLog, "vgrid-boot-log-marker"), 1);

  await api.terminateAndWait(vm.id);
  assert.deepEqual(await processesMentioning(vmDir), []);
  assert.equal(await api.log(vm.id), adoptedLog, "a terminated VM's log stays readable");
});

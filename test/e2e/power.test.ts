// Power on real QEMU with the tiny image: alice stops her VM and what she wrote on its disk is there
// after she starts it again, ssh answering; a reboot and a forced one come back as new boots; and
// when a VM's QEMU is killed, one of an image that says restartOnCrash is started again while a plain
// one is failed with the reason. Every QEMU is reaped.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import type { Vm, VmHistoryEntry } from "../../src/core/api.js";
import { eventually, processesMentioning, sshKeygen, sshRun, zombies } from "../support/processes.js";
import { Api, cleanUp, createToken, startUp, tempDir, type Up } from "../support/vgrid.js";

const BUILT = resolve("images/build");
let up: Up | undefined;
let keysDir: string;
let imagesDir: string;

before(async () => {
  keysDir = await tempDir("keys");
  // The catalog: tiny as built, and the same files as `tiny-restart`, whose sidecar says restartOnCrash.
  imagesDir = await tempDir("images");
  for (const file of ["tiny.qcow2", "tiny.vmlinuz", "tiny.initrd", "tiny.json"]) await symlink(join(BUILT, file), join(imagesDir, file));
  const tiny = JSON.parse(await readFile(join(BUILT, "tiny.json"), "utf8")) as Record<string, unknown>;
  await writeFile(join(imagesDir, "tiny-restart.json"), JSON.stringify({ ...tiny, tag: "tiny-restart", name: "Tiny, restarted on crash", restartOnCrash: true }));
  up = await startUp({ maxVms: 2, images: imagesDir });
});

after(async () => {
  await cleanUp(up?.proc, up?.dataDir);
  await cleanUp(undefined, keysDir);
  await cleanUp(undefined, imagesDir);
});

test("a stopped VM keeps its disk and boots again from it; reboots come back; a killed QEMU is restarted only where the image says so", async () => {
  const { privateKey, publicKey } = await sshKeygen(keysDir, "alice");
  const alice = new Api(up!.url, await createToken(up!.dataDir, "alice"));
  assert.equal((await alice.call("PUT", "/me/ssh-keys", { keys: [publicKey] })).status, 200);
  const [plainId, restartId] = [(await alice.deploy({ image: "tiny" })).id, (await alice.deploy({ image: "tiny-restart" })).id];
  let vm = await alice.waitReady(plainId);
  const vmDir = join(up!.dataDir, "node", "vms", vm.id);
  const ssh = async (v: Vm, command: string) => (await sshRun(privateKey, v.ssh!.host, v.ssh!.port, command)).trim();
  const until = (what: string, id: string, matches: (v: Vm) => boolean) =>
    eventually(what, 240_000, async () => {
      const now = await alice.vm(id);
      return matches(now) ? now : undefined;
    }, 200);

  // The tiny guest's own disk is mounted at /var/lib/vgrid: a file written there outlives a stop.
  await ssh(vm, "echo kept-across-stop > /var/lib/vgrid/note && sync");
  const stopping = await alice.call<Vm>("POST", `/vms/${vm.id}/stop`);
  assert.equal(stopping.status, 202, JSON.stringify(stopping.body));
  const stopped = await until("the node to stop the VM", vm.id, (v) => v.state === "stopped" && v.transition === null);
  assert.deepEqual([stopped.responding, stopped.ssh, stopped.name], [false, null, vm.name]);
  assert.deepEqual(await processesMentioning(vmDir), [], "no QEMU runs the stopped VM");
  assert.ok(existsSync(join(vmDir, "overlay.qcow2")), "its disk is kept");

  assert.equal((await alice.call("POST", `/vms/${vm.id}/start`)).status, 202);
  vm = await alice.waitReady(vm.id);
  assert.equal(await ssh(vm, "cat /var/lib/vgrid/note"), "kept-across-stop", "started from its own disk");

  for (const force of [false, true]) {
    const bootBefore = await ssh(vm, "cat /proc/sys/kernel/random/boot_id");
    const asked = await alice.call<Vm>("POST", `/vms/${vm.id}/reboot`, force ? { force } : undefined);
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    await until(`the ${force ? "reset" : "reboot"} to be done`, vm.id, (v) => v.transition === null);
    vm = await alice.waitReady(vm.id);
    const bootAfter = await eventually("ssh after the reboot", 120_000, () => ssh(vm, "cat /proc/sys/kernel/random/boot_id").catch(() => undefined), 500);
    assert.notEqual(bootAfter, bootBefore, `a new boot after the ${force ? "reset" : "reboot"}`);
    assert.equal(await ssh(vm, "cat /var/lib/vgrid/note"), "kept-across-stop");
  }
  assert.equal((await processesMentioning(vmDir)).length, 1, "exactly one QEMU runs the VM after its reboots");

  // A QEMU killed under the VM: restartOnCrash boots it again (a history row says so); a plain one fails.
  const restartVm = await alice.waitReady(restartId);
  const restartDir = join(up!.dataDir, "node", "vms", restartVm.id);
  for (const pid of await processesMentioning(restartDir)) process.kill(pid, "SIGKILL");
  for (const pid of await processesMentioning(vmDir)) process.kill(pid, "SIGKILL");
  const failed = await until("the plain VM to fail", vm.id, (v) => v.state === "failed");
  assert.match(failed.error ?? "", /stopped unexpectedly.*SIGKILL/);
  await eventually("the restart in the history", 120_000, async () => {
    const rows = (await alice.call<{ items: VmHistoryEntry[] }>("GET", `/vms/${restartVm.id}/history`)).body.items;
    return rows.some((e) => e.by === "node" && /restarted at .* after a crash \(restart 1 of at most 3 an hour\).*SIGKILL/.test(e.detail ?? "")) || undefined;
  }, 500);
  const back = await alice.waitReady(restartVm.id);
  assert.match(await ssh(back, "hostname"), new RegExp(`^${restartVm.name}$`), "the restarted VM answers ssh");
  assert.equal((await processesMentioning(restartDir)).length, 1, "one QEMU runs it again");

  await alice.terminateAndWait(vm.id);
  await alice.terminateAndWait(restartVm.id);
  assert.deepEqual(await processesMentioning(join(up!.dataDir, "node", "vms")), [], "no QEMU is left");
  assert.deepEqual(await zombies({ ppid: up!.proc.child.pid! }), [], "vgrid reaped every QEMU");
});

// A user's whole story on real QEMU: alice deploys the tiny image, logs in as root with her own key,
// finds her VM's hostname and her username inside, terminates it, and the node keeps nothing of it.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, processesMentioning, sshHostKey, sshKeygen, sshRun, zombies } from "../support/processes.js";
import { Api, cleanUp, createToken, startUp, tempDir, type Up } from "../support/vgrid.js";

let up: Up | undefined;
let keysDir: string;

before(async () => {
  keysDir = await tempDir("keys");
  up = await startUp({ maxVms: 2 });
});

after(async () => {
  await cleanUp(up?.proc, up?.dataDir);
  await cleanUp(undefined, keysDir);
});

test("alice deploys a VM, ssh-es in as root with her key, and terminating it leaves nothing behind", async () => {
  const { privateKey, publicKey } = await sshKeygen(keysDir, "alice");
  const alice = new Api(up!.url, await createToken(up!.dataDir, "alice"));

  const saved = await alice.call<{ keys: string[] }>("PUT", "/me/ssh-keys", { keys: [publicKey] });
  assert.equal(saved.status, 200);
  const created = await alice.deploy({ image: "tiny" });
  assert.equal(created.owner, "alice");
  assert.equal(created.state, "pending");

  const vm = await alice.waitReady(created.id);
  assert.ok(vm.ssh, "a running VM says how to reach it");
  assert.equal(vm.ssh.user, "root");
  assert.equal(vm.ssh.host, "127.0.0.1");

  const out = await sshRun(privateKey, vm.ssh.host, vm.ssh.port, "hostname; cat /proc/cmdline; cat /etc/vgrid_username");
  const [hostname, cmdline] = out.split("\n");
  assert.equal(hostname, vm.name, "the guest's hostname is the VM's name from the pool");
  assert.match(cmdline!, /(^| )vgrid_username=alice( |$)/, "the owner's username reached the kernel command line");

  // Another user's key does not open alice's VM: the guest's sshd itself refuses it.
  const mallory = await sshKeygen(keysDir, "mallory");
  await assert.rejects(sshRun(mallory.privateKey, vm.ssh.host, vm.ssh.port, "true"), (err: { stderr?: string }) => {
    assert.match(err.stderr ?? "", /Permission denied \(publickey\)/, "refused for the key, not for any other reason");
    return true;
  });

  const hostKey = await sshHostKey(vm.ssh.host, vm.ssh.port);
  // The node read the guest's host key from its console at boot: it is the one its sshd offers.
  const known = await eventually("the VM's host key to be known", 60_000, async () => {
    const now = await alice.vm(vm.id);
    return now.sshHostKeys.length > 0 ? now.sshHostKeys : undefined;
  });
  assert.deepEqual(known.map((k) => `${k.type} ${k.key}`), [hostKey], "the vm object carries the key ssh-keyscan sees");
  assert.match(known[0]!.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  const vmDir = join(up!.dataDir, "node", "vms", vm.id);
  assert.ok(existsSync(join(vmDir, "overlay.qcow2")), "the VM's overlay lives in its own directory");
  assert.equal((await processesMentioning(vmDir)).length, 1, "exactly one QEMU runs the VM");

  const ended = await alice.terminateAndWait(vm.id);
  assert.equal(ended.ssh, null);
  assert.deepEqual(await processesMentioning(vmDir), [], "no QEMU is left for the VM");
  assert.equal(existsSync(vmDir), false, "the VM's overlay, seed and socket are deleted");
  assert.deepEqual(await zombies({ ppid: up!.proc.child.pid! }), [], "vgrid reaped its QEMU");

  // The terminated VM stays readable, and its hostname is free for the next VM.
  const history = await alice.call<{ items: Array<{ id: string }> }>("GET", "/vms?state=terminated");
  assert.ok(history.body.items.some((v) => v.id === vm.id));
  const next = await alice.deploy({ image: "tiny" });
  assert.equal(next.name, vm.name, "the released hostname is taken again");
  const nextReady = await alice.waitReady(next.id);
  assert.notEqual(await sshHostKey(nextReady.ssh!.host, nextReady.ssh!.port), hostKey, "a new VM of the same image has its own host key");
  await alice.terminateAndWait(next.id);
  await eventually("the second VM's directory to go", 30_000, async () =>
    existsSync(join(up!.dataDir, "node", "vms", next.id)) ? undefined : true,
  );
});

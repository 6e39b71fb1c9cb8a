// Many deploy/terminate cycles on real QEMU through `vgrid up --max-vms 5`: a full host refuses more
// with no-capacity, VMs terminated at any point of their life (pending, booting, up) leave no QEMU,
// no zombie, no overlay or seed, and every hostname returns to the pool.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Hostname, Vm } from "../../src/core/api.js";
import { eventually, processesMentioning, sshKeygen, zombies } from "../support/processes.js";
import { Api, cleanUp, startUp, tempDir, vmDirs, type Up } from "../support/vgrid.js";

let up: Up | undefined;
let keysDir: string;
let api: Api;
let key: string;

before(async () => {
  keysDir = await tempDir("keys");
  key = (await sshKeygen(keysDir)).publicKey;
  up = await startUp({ maxVms: 5 });
  api = new Api(up.url, up.adminToken);
});

after(async () => {
  await cleanUp(up?.proc, up?.dataDir);
  await cleanUp(undefined, keysDir);
});

test("a full host refuses the sixth VM, and terminated VMs leave nothing behind", async () => {
  const first: Vm[] = [];
  for (let i = 0; i < 5; i++) first.push(await api.deploy({ image: "tiny", sshKeys: [key] }));
  const sixth = await api.call<{ type: string }>("POST", "/vms", { image: "tiny", sshKeys: [key] });
  assert.equal(sixth.status, 409);
  assert.equal(sixth.body.type, "/problems/no-capacity");

  // Where in its life each VM was when it was terminated: pending, provisioning, booting (QEMU runs,
  // the guest does not answer ssh yet) or up (answering).
  const lifeAtTerminate = new Set<string>();
  const terminate = async (vm: Vm) => {
    const now = await api.vm(vm.id);
    lifeAtTerminate.add(now.state === "running" ? (now.responding ? "up" : "booting") : now.state);
    await api.terminateAndWait(vm.id);
  };

  // Let one boot fully; terminate the others wherever they are in their life.
  await api.waitReady(first[0]!.id);
  await Promise.all(first.map(terminate));

  // More rounds: deploy and terminate at once (the node may not even have seen them), and as soon as
  // QEMU runs, while the guest boots.
  for (let round = 0; round < 3; round++) {
    const batch = await Promise.all(Array.from({ length: 5 }, () => api.deploy({ image: "tiny", sshKeys: [key] })));
    if (round === 1) await Promise.all(batch.map((vm) => eventually("QEMU to run", 120_000, async () => ((await api.vm(vm.id)).state === "running" ? true : undefined), 100)));
    await Promise.all(batch.map(terminate));
  }
  const seen = [...lifeAtTerminate].sort().join(", ");
  assert.ok(lifeAtTerminate.has("up"), `some VMs were terminated once up: ${seen}`);
  assert.ok(lifeAtTerminate.has("booting"), `some VMs were terminated while booting: ${seen}`);
  assert.ok(lifeAtTerminate.has("pending") || lifeAtTerminate.has("provisioning"), `some VMs were terminated before they ran: ${seen}`);

  assert.deepEqual(await processesMentioning(join(up!.dataDir, "node")), [], "no QEMU is left");
  assert.deepEqual(await zombies({ ppid: up!.proc.child.pid! }), [], "every QEMU was reaped");
  assert.deepEqual(await vmDirs(join(up!.dataDir, "node")), [], "no VM directory (overlay, seed, socket) is left");
  const hosts = await api.call<{ items: Array<{ name: string; vms: number }> }>("GET", "/hosts");
  assert.equal(hosts.body.items.find((h) => h.name === "local")?.vms, 0, "the host's slots are all free again");
  const pool = await api.call<{ items: Hostname[] }>("GET", "/hostnames");
  assert.ok(pool.body.items.length >= 20, "the pool is listed");
  assert.deepEqual(pool.body.items.filter((n) => n.vmId !== null), [], "every hostname returned to the pool");
  const history = await api.call<{ items: Vm[] }>("GET", "/vms?state=terminated");
  assert.equal(history.body.items.length, 20, "all 20 VMs are in the history, terminated");
  const live = await api.call<{ items: Vm[] }>("GET", "/vms");
  assert.deepEqual(live.body.items, []);
});

// Many deploy/terminate cycles on real QEMU through `vgrid up --max-vms 5`: a full host refuses more
// with no-capacity, VMs terminated at any point of their life (pending, booting, running) leave no
// QEMU, no zombie, no overlay or seed, and every hostname returns to the pool.

import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import { eventually, processesMentioning, sshKeygen, zombies } from "../support/processes.js";
import { Api, cleanUp, startUp, tempDir, type Up } from "../support/vgrid.js";

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

async function nodeLeftovers(): Promise<string[]> {
  const vmsDir = join(up!.dataDir, "node", "vms");
  return readdir(vmsDir).catch(() => []);
}

test("a full host refuses the sixth VM, and terminated VMs leave nothing behind", async () => {
  const first: Vm[] = [];
  for (let i = 0; i < 5; i++) first.push(await api.deploy({ image: "tiny", sshKeys: [key] }));
  const sixth = await api.call<{ type: string }>("POST", "/vms", { image: "tiny", sshKeys: [key] });
  assert.equal(sixth.status, 409);
  assert.equal(sixth.body.type, "/problems/no-capacity");

  // Let one boot fully; terminate the others wherever they are in their life.
  await api.waitReady(first[0]!.id);
  await Promise.all(first.map((vm) => api.terminateAndWait(vm.id)));

  // More rounds: deploy and terminate at once (the node may not even have seen them), and after boot.
  const statesAtTerminate = new Set<string>();
  for (let round = 0; round < 3; round++) {
    const batch = await Promise.all(Array.from({ length: 5 }, () => api.deploy({ image: "tiny", sshKeys: [key] })));
    if (round === 1) await Promise.all(batch.map((vm) => eventually("QEMU to run", 120_000, async () => ((await api.vm(vm.id)).state === "running" ? true : undefined))));
    await Promise.all(
      batch.map(async (vm) => {
        statesAtTerminate.add((await api.vm(vm.id)).state);
        await api.terminateAndWait(vm.id);
      }),
    );
  }
  assert.ok(statesAtTerminate.has("running"), "some VMs were terminated while running");
  assert.ok(statesAtTerminate.has("pending") || statesAtTerminate.has("provisioning"), `some VMs were terminated before they ran: ${[...statesAtTerminate].join(", ")}`);

  assert.deepEqual(await processesMentioning(join(up!.dataDir, "node")), [], "no QEMU is left");
  assert.deepEqual(await zombies({ ppid: up!.proc.child.pid! }), [], "every QEMU was reaped");
  assert.deepEqual(await nodeLeftovers(), [], "no VM directory (overlay, seed, socket) is left");
  const hosts = await api.call<{ items: Array<{ name: string; vms: number }> }>("GET", "/hosts");
  assert.equal(hosts.body.items.find((h) => h.name === "local")?.vms, 0, "the host's slots are all free again");
  const history = await api.call<{ items: Vm[] }>("GET", "/vms?state=terminated");
  assert.equal(history.body.items.length, 20, "all 20 VMs are in the history, terminated");
  const live = await api.call<{ items: Vm[] }>("GET", "/vms");
  assert.deepEqual(live.body.items, []);
});

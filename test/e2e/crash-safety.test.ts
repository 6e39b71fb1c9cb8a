// Crash safety with the server and the node as separate processes, as on a real cluster:
// SIGKILL the node while VMs run and start it again (it re-adopts them: no second QEMU, no lost VM,
// no orphan disk); SIGKILL the server and start it again (nothing is lost; work goes on).

import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually, processesMentioning, sshKeygen, sshRun, zombies } from "../support/processes.js";
import { Api, IMAGES, VGRID, VgridProcess, cleanUp, startVgrid, tempDir } from "../support/vgrid.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const NODE_TOKEN = "crash-test-node-token-0123456789abcdef";

let dir: string;
let url: string;
let server: VgridProcess | undefined;
let node: VgridProcess | undefined;

async function writeConfigs(): Promise<void> {
  const port = await pickFreePort("127.0.0.1");
  url = `http://127.0.0.1:${port}`;
  const tiny = JSON.parse(await readFile(join(IMAGES, "tiny.json"), "utf8")) as Record<string, unknown>;
  const image = Object.entries(tiny)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join("\n");
  await writeFile(
    join(dir, "server.toml"),
    [
      'admins = ["admin"]',
      "[listen]",
      'host = "127.0.0.1"',
      `port = ${port}`,
      "[database]",
      'file = "vgrid.db"',
      "[hostnames]",
      "count = 10",
      "[[hosts]]",
      'name = "n1"',
      "maxVms = 4",
      "memoryMiB = 8192",
      "cpus = 8",
      `token = "${NODE_TOKEN}"`,
      "[[images]]",
      image,
      "",
    ].join("\n"),
  );
  await writeFile(
    join(dir, "node.toml"),
    [
      'name = "n1"',
      `server = "${url}"`,
      `token = "${NODE_TOKEN}"`,
      'stateDir = "node"',
      `imageDirectory = "${IMAGES}"`,
      'sshBind = "127.0.0.1"',
      'sshHost = "127.0.0.1"',
      "",
    ].join("\n"),
  );
}

async function startServerProcess(): Promise<VgridProcess> {
  const proc = startVgrid(["server", "--config", join(dir, "server.toml")]);
  try {
    await eventually("the server to answer", 30_000, async () => {
      if (!proc.running) throw new Hopeless(`server exited: ${proc.output}`);
      return (await fetch(`${url}/healthz`)).ok ? true : undefined;
    }, 100);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw err;
  }
  return proc;
}

async function startNodeProcess(): Promise<VgridProcess> {
  return startVgrid(["node", "--config", join(dir, "node.toml")]);
}

const vmDir = (id: string) => join(dir, "node", "vms", id);

before(async () => {
  dir = await tempDir("crash");
  await writeConfigs();
  server = await startServerProcess();
  node = await startNodeProcess();
});

after(async () => {
  await node?.stop("SIGTERM");
  await cleanUp(server, dir);
});

test("SIGKILL of the node or the server loses nothing and duplicates nothing", async () => {
  const { stdout } = await run(VGRID, ["token", "create", "--user", "alice", "--config", join(dir, "server.toml")]);
  const alice = new Api(url, stdout.trim().split("\n").at(-1)!);
  const key = await sshKeygen(dir, "alice");
  await alice.call("PUT", "/me/ssh-keys", { keys: [key.publicKey] });
  await eventually("the node to come online", 60_000, async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));

  const vms: Vm[] = [];
  for (let i = 0; i < 2; i++) vms.push(await alice.deploy({ image: "tiny" }));
  const ready = await Promise.all(vms.map((vm) => alice.waitReady(vm.id)));
  const pidsBefore = await Promise.all(ready.map((vm) => processesMentioning(vmDir(vm.id))));
  assert.ok(pidsBefore.every((p) => p.length === 1), "one QEMU per VM");

  // The node dies hard; its VMs keep running.
  await node!.stop("SIGKILL");
  for (const [i, vm] of ready.entries()) {
    assert.deepEqual(await processesMentioning(vmDir(vm.id)), pidsBefore[i], "QEMU outlives its agent");
  }
  node = await startNodeProcess();
  // The new agent adopts them: same QEMU, same port, still answering ssh, and it can work again.
  const third = await alice.deploy({ image: "tiny" });
  await alice.waitReady(third.id);
  for (const [i, vm] of ready.entries()) {
    const now = await alice.vm(vm.id);
    assert.equal(now.state, "running");
    assert.deepEqual(now.ssh, vm.ssh, "the adopted VM keeps its ssh endpoint");
    assert.deepEqual(await processesMentioning(vmDir(vm.id)), pidsBefore[i], "no second QEMU after re-adoption");
    assert.equal((await sshRun(key.privateKey, now.ssh!.host, now.ssh!.port, "hostname")).trim(), vm.name);
  }
  assert.deepEqual((await readdir(join(dir, "node", "vms"))).sort(), [...ready.map((v) => v.id), third.id].sort(), "no orphan and no lost VM directory");

  // The server dies hard; nothing it acknowledged is lost.
  const listed = (await alice.call<{ items: Vm[] }>("GET", "/vms")).body.items;
  await server!.stop("SIGKILL");
  server = await startServerProcess();
  const relisted = (await alice.call<{ items: Vm[] }>("GET", "/vms")).body.items;
  assert.deepEqual(relisted.map((v) => [v.id, v.name, v.state]), listed.map((v) => [v.id, v.name, v.state]));

  // The node reconnects by itself; terminating works and cleans everything.
  await Promise.all([...ready, third].map((vm) => alice.terminateAndWait(vm.id)));
  assert.deepEqual(await processesMentioning(join(dir, "node", "vms")), [], "no QEMU is left");
  assert.deepEqual(await readdir(join(dir, "node", "vms")), [], "no disk or seed is left");
  // Adopted QEMUs are not the new agent's children: init reaps them, not vgrid. What vgrid owns is
  // checked: no process of its VMs is alive, and none of its own children is left unreaped.
  assert.deepEqual(await zombies({ ppid: node.child.pid! }), [], "the node reaped every QEMU it started");
  assert.deepEqual(await zombies({ ppid: server.child.pid! }), []);
});

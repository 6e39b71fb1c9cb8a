// `driver = "sim"` in node.toml: a node that runs no VM at all, for tests and benchmarks of the control
// plane. Its VMs go through the same states over the same protocol: running (with a few lines of a
// simulated console in their boot log), then responding after simBootSeconds, then terminated, with
// no process and no file on the machine.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually } from "../support/processes.js";
import { KEY } from "../support/server.js";
import { Api, VGRID, cleanUp, startVgrid, tempDir, type VgridProcess } from "../support/vgrid.js";

const run = promisify(execFile);
const SECRET = "sim-node-test-secret-0123456789abcdef";
let dir: string;
let server: VgridProcess | undefined;
let node: VgridProcess | undefined;

before(async () => {
  dir = await tempDir("sim");
});

after(async () => {
  await node?.stop("SIGTERM");
  await cleanUp(server, dir);
});

test("a sim node's VMs run, answer after simBootSeconds, and terminate, with no process or file", async () => {
  const port = await pickFreePort("127.0.0.1");
  await writeFile(
    join(dir, "server.toml"),
    `[listen]\nport = ${port}\n[hostnames]\ncount = 5\n[[hosts]]\nname = "sim1"\nmaxVms = 5\nmemoryMiB = 4096\ncpus = 4\ntoken = "${SECRET}"\n` +
      `[[images]]\ntag = "tiny"\nname = "Tiny"\ndisk = "tiny.qcow2"\n`,
  );
  await writeFile(join(dir, "node.toml"), `name = "sim1"\nserver = "http://127.0.0.1:${port}"\ntoken = "${SECRET}"\nstateDir = "state"\ndriver = "sim"\nsimBootSeconds = 0.5\n`);
  server = startVgrid(["server", "--config", join(dir, "server.toml")]);
  await eventually("the server", 30_000, async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok ? true : undefined), 100);
  node = startVgrid(["node", "--config", join(dir, "node.toml")]);
  await eventually("the node to connect", 30_000, async () => {
    if (!node!.running) throw new Hopeless(node!.output);
    return node!.output.includes("connected to the server") ? true : undefined;
  }, 100);
  assert.match(node.output, /with the sim driver: a simulated hypervisor that runs no VM/, "a sim node says what it is");
  const { stdout } = await run(VGRID, ["token", "create", "--user", "sam", "--config", join(dir, "server.toml")]);
  const api = new Api(`http://127.0.0.1:${port}`, stdout.trim().split("\n").at(-1)!);
  const vm = await api.waitReady((await api.deploy({ image: "tiny", sshKeys: [KEY] })).id, 30_000);
  assert.deepEqual([vm.state, vm.responding, vm.host], ["running", true, "sim1"]);
  const log = await eventually("the simulated boot log", 10_000, async () => {
    const text = await api.log(vm.id);
    return text.includes("is up") ? text : undefined;
  }, 100);
  assert.match(log, /^vgrid sim driver: this console is simulated/, "its console says it is simulated");
  await api.terminateAndWait(vm.id, 30_000);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n === "state")), [], "the sim driver made no state directory");

  // A deploy's request id follows the VM: the server's log, its node's, and the server's again.
  const traced = await api.call<{ id: string }>("POST", "/vms", { image: "tiny", sshKeys: [KEY] }, { "x-request-id": "trace-0123456789" });
  assert.equal(traced.status, 201);
  await api.waitReady(traced.body.id, 30_000);
  const lines = (text: string) => text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { reqId?: string; msg: string });
  await eventually("the server's log of the VM running", 10_000, async () =>
    lines(server!.output).some((l) => l.reqId === "trace-0123456789" && /running/.test(l.msg)) ? true : undefined,
  );
  const onServer = lines(server.output).filter((l) => l.reqId === "trace-0123456789").map((l) => l.msg);
  assert.ok(onServer.some((m) => m.startsWith("vm.deploy")), `the server logged the deploy: ${onServer.join(" | ")}`);
  const onNode = lines(node.output).filter((l) => l.reqId === "trace-0123456789").map((l) => l.msg);
  assert.ok(onNode.includes("VM running"), `the node logged the VM with the deploy's id: ${onNode.join(" | ")}`);
});

// The agent's decisions, each a short story against a REAL server run as a process of its own
// (`vgrid server`), reached only over HTTP as nodes and users reach it: the node protocol, the REST API
// and the event stream. The hypervisor is the sim driver, whose faults each story scripts; QEMU itself
// is tested in test/integration and test/e2e.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { after, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Invalid } from "../core/errors.js";
import type { Vm } from "../core/api.js";
import { HOST_TOKEN, PUBLIC_KEY, openEvents, startServerProcess, type EventStream, type ServerProcess } from "../../test/support/server-process.js";
import { Api } from "../../test/support/vgrid.js";
import { Agent } from "./agent.js";
import { SimDriver } from "./drivers/sim/driver.js";

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An sshd stand-in that greets with a banner: a guest that answers. */
const bannerServer = net.createServer((socket) => {
  socket.on("error", () => {});
  socket.end("SSH-2.0-scripted\r\n");
});
const bannerPort = await new Promise<number>((resolve) =>
  bannerServer.listen(0, "127.0.0.1", () => resolve((bannerServer.address() as net.AddressInfo).port)),
);
after(() => new Promise((resolve) => bannerServer.close(resolve)));

/** Polls `check` until it gives a value; bounded, and says what it waited for (with the agent's log). */
async function waitFor<T>(what: string, story: Story, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`gave up waiting for ${what}; agent log:\n${story.logs.slice(-20).join("\n")}`);
    await sleep(20);
  }
}

interface Story {
  server: ServerProcess;
  logs: string[];
  /** Starts an agent on `driver` against `serverUrl` (the story's server unless told); stopped after the story. */
  startAgent(driver: SimDriver, serverUrl?: string): Agent;
  /** Ends an agent and checks that it left its driver alone once closed. */
  stopAgent(agent: Agent, stopVms?: boolean): Promise<void>;
  /** Starts another server process on `port` (one the agent already knows); stopped after the story. */
  startServerOn(port: number): Promise<ServerProcess>;
  /** Subscribes to the story's server's events as the user; closed after the story. */
  events(): Promise<EventStream>;
  deploy(): Promise<Vm>;
  vm(id: string): Promise<Vm>;
  terminate(id: string): Promise<void>;
  extend(id: string, hours: number): Promise<Vm>;
  /** Waits until the server shows the VM as `matches` says, and returns it. */
  until(what: string, id: string, matches: (vm: Vm) => boolean): Promise<Vm>;
}

/**
 * A story's world: its own server process (own port, own database) and the user alice. Everything it
 * starts is stopped after the story, whether the story passed or not: agents first, then servers.
 */
async function story(t: TestContext): Promise<Story> {
  const logs: string[] = [];
  const agents = new Map<Agent, SimDriver>();
  const cleanups: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const [agent, driver] of agents) {
      driver.releaseAll();
      await agent.shutdown(false);
    }
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const server = await startServerProcess();
  cleanups.push(() => server.stop());
  const token = await server.tokenFor("alice");
  const api = new Api(server.url, token);
  const call = async <T>(method: "GET" | "POST" | "DELETE", path: string, body?: object): Promise<T> => {
    const res = await api.call<T>(method, path, body);
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const s: Story = {
    server,
    logs,
    startAgent(driver, serverUrl = server.url) {
      const agent = new Agent({
        serverUrl,
        nodeName: "h1",
        token: HOST_TOKEN,
        driver,
        sshHost: "127.0.0.1",
        probeHost: "127.0.0.1",
        facts: { memoryMiB: 8192, cpus: 8 },
        log: (msg, fields) => logs.push(`${msg} ${JSON.stringify(fields ?? {})}`),
      });
      agents.set(agent, driver);
      agent.start();
      return agent;
    },
    async stopAgent(agent, stopVms = false) {
      const driver = agents.get(agent)!;
      agents.delete(agent);
      await agent.shutdown(stopVms);
      assert.deepEqual(driver.misuse, [], "the agent leaves its driver alone once it closes it");
    },
    async startServerOn(port) {
      const other = await startServerProcess({ port });
      cleanups.push(() => other.stop());
      return other;
    },
    async events() {
      const stream = await openEvents(server.url, token);
      cleanups.push(async () => stream.close());
      return stream;
    },
    deploy: () => call<Vm>("POST", "/vms", { image: "tiny", sshKeys: [PUBLIC_KEY] }),
    vm: (id) => call<Vm>("GET", `/vms/${id}`),
    terminate: async (id) => void (await call<Vm>("DELETE", `/vms/${id}`)),
    extend: (id, hours) => call<Vm>("POST", `/vms/${id}/extend`, { hours }),
    until: (what, id, matches) =>
      waitFor(what, s, async () => {
        const vm = await s.vm(id);
        return matches(vm) ? vm : undefined;
      }),
  };
  return s;
}

test("a VM whose deletion fails once shows why, is retried, and ends terminated with its hostname released", async (t) => {
  const s = await story(t);
  const driver = new SimDriver();
  const agent = s.startAgent(driver);
  await agent.online();
  const vm = await s.deploy();
  await s.until("the VM to run", vm.id, (v) => v.state === "running");

  driver.failNext("destroy", vm.id, "rm: cannot remove overlay.qcow2: Device or resource busy");
  await s.terminate(vm.id);
  const ended = await s.until("the VM to be terminated", vm.id, (v) => v.state === "terminated");
  assert.equal(driver.count("destroy", vm.id), 2, "the failed destroy was tried again");
  assert.equal(driver.vms.has(vm.id), false, "nothing of it is left on the node");
  assert.match(ended.error ?? "", /could not delete the VM.*Device or resource busy/, "the user could see why it took long");

  const next = await s.deploy();
  assert.equal(next.name, vm.name, "its hostname went back to the pool");
  await s.stopAgent(agent);
});

test("a VM whose process lives but whose QMP is silent is neither failed nor started again, even by a new agent", async (t) => {
  const s = await story(t);
  // A guest that does not answer ssh yet: the agent probes it every second.
  const sshPort = await freePort();
  const driver = new SimDriver({ sshPort });
  const agent = s.startAgent(driver);
  await agent.online();
  const vm = await s.deploy();
  await s.until("the VM to run", vm.id, (v) => v.state === "running");

  // QEMU on a busy node: alive, but QMP does not answer in time.
  driver.setCondition(vm.id, { state: "unknown", detail: "QEMU (pid 4242) does not answer QMP: no greeting within 1000 ms" });
  const seenBefore = driver.inspections.get(vm.id) ?? 0;
  await waitFor("two liveness probes of the silent VM", s, () => ((driver.inspections.get(vm.id) ?? 0) >= seenBefore + 2 ? true : undefined));
  let now = await s.vm(vm.id);
  assert.equal(now.state, "running");
  assert.equal(now.error, null);
  await s.stopAgent(agent);

  // A new agent finds it so too: it waits, and never runs a second process for it.
  const again = new SimDriver({ vms: driver.vms, sshPort });
  const restarted = s.startAgent(again);
  await restarted.online();
  await waitFor("the new agent to look at the VM twice", s, () => ((again.inspections.get(vm.id) ?? 0) >= 2 ? true : undefined));
  now = await s.vm(vm.id);
  assert.equal(now.state, "running");
  assert.deepEqual(now.ssh, { host: "127.0.0.1", port: sshPort, user: "root" });
  assert.deepEqual([...driver.calls, ...again.calls], [["create", vm.id], ["start", vm.id]], "one create and one start, by the first agent");
  await s.stopAgent(restarted);
});

test("a running VM adopted by a restarted agent is never reported provisioning", async (t) => {
  const s = await story(t);
  const driver = new SimDriver({ sshPort: bannerPort });
  const first = s.startAgent(driver);
  await first.online();
  const vm = await s.deploy();
  await s.until("the VM to run and answer ssh", vm.id, (v) => v.state === "running" && v.responding);
  await s.stopAgent(first);

  // Every state the server publishes from now on, as any client of its event stream sees it.
  const events = await s.events();
  // The new agent is slow to look at the VM; meanwhile it syncs, for another VM's sake.
  const again = new SimDriver({ vms: driver.vms, sshPort: bannerPort });
  const release = again.holdInspect(vm.id);
  const restarted = s.startAgent(again);
  const online = restarted.online().then(() => "online");
  await waitFor("the new agent to start looking at the VM", s, () => ((again.inspections.get(vm.id) ?? 0) >= 1 ? true : undefined));
  const other = await s.deploy();
  await s.until("the other VM to run", other.id, (v) => v.state === "running");
  assert.equal((await s.vm(vm.id)).state, "running");
  const notYet = new Promise<string>((resolve) => setImmediate(() => resolve("not yet")));
  assert.equal(await Promise.race([online, notYet]), "not yet", "not online before it has looked at every VM it should run");

  release();
  assert.equal(await online, "online");
  await waitFor("the adopted VM to be probed", s, () => ((again.inspections.get(vm.id) ?? 0) >= 2 ? true : undefined));
  assert.equal((await s.vm(vm.id)).state, "running");
  // The stream is ordered: once an event published now has arrived, so has every one before it.
  const marker = await s.extend(other.id, 2);
  await events.until("the marker event", (v) => v.id === other.id && v.expiresAt === marker.expiresAt);
  const states = events.vms.filter((v) => v.id === vm.id).map((v) => v.state);
  assert.deepEqual(states.filter((state) => state !== "running"), [], "the server never heard of it as anything but running");
  assert.equal(again.count("start", vm.id), 0, "adopted, not started again");
  await s.stopAgent(restarted);
});

test("a failed VM is stopped but keeps its files (logs) until its owner terminates it", async (t) => {
  const s = await story(t);
  const driver = new SimDriver();
  const agent = s.startAgent(driver);
  await agent.online();
  const vm = await s.deploy();
  await s.until("the VM to run", vm.id, (v) => v.state === "running");

  // QEMU dies under the VM.
  driver.setCondition(vm.id, { state: "gone", error: "QEMU was killed by SIGKILL" });
  const failed = await s.until("the VM to fail", vm.id, (v) => v.state === "failed");
  assert.equal(failed.error, "QEMU was killed by SIGKILL");
  await waitFor("the failed VM to be stopped", s, () => (driver.count("stop", vm.id) > 0 ? true : undefined));
  assert.ok(driver.vms.has(vm.id), "its files stay for diagnosis");
  await s.stopAgent(agent);

  // A new agent that never knew why it failed stops it again, keeps its files, and keeps the reason.
  const again = new SimDriver({ vms: driver.vms });
  const restarted = s.startAgent(again);
  await waitFor("the new agent to stop the failed VM", s, () => (again.count("stop", vm.id) > 0 ? true : undefined));
  assert.ok(again.vms.has(vm.id));
  assert.equal(again.count("destroy", vm.id), 0);
  assert.equal(again.count("start", vm.id), 0, "a failed VM is not started again");

  await s.terminate(vm.id);
  const ended = await s.until("the VM to be terminated", vm.id, (v) => v.state === "terminated");
  assert.equal(ended.error, "QEMU was killed by SIGKILL", "the reason it failed is still there");
  assert.equal(again.vms.has(vm.id), false, "terminating deleted its files");
  await s.stopAgent(restarted);
});

test("a VM the server does not know is deleted only once the server has been heard", async (t) => {
  const s = await story(t);
  const orphan = randomUUID();
  const driver = new SimDriver({ vms: new Map([[orphan, { state: "running", address: null, sshPort: null, error: null, detail: null }]]) });
  // The server is not reachable yet: the agent knows nothing of what should be here.
  const port = await freePort();
  const agent = s.startAgent(driver, `http://127.0.0.1:${port}`);
  await waitFor("two failed syncs", s, () => (s.logs.filter((l) => l.startsWith("sync with the server failed")).length >= 2 ? true : undefined));
  assert.equal(driver.count("destroy", orphan), 0);
  assert.ok(driver.vms.has(orphan));

  // A second server process, on the port the agent has been trying all along.
  await s.startServerOn(port);
  await agent.online();
  await waitFor("the orphan to be deleted", s, () => (driver.vms.has(orphan) ? undefined : true));
  assert.equal(driver.count("destroy", orphan), 1);
  await s.stopAgent(agent);
});

test("shutdown(true) before any sync stops the VMs a previous run left, and keeps their files", async (t) => {
  const s = await story(t);
  const left = randomUUID();
  const driver = new SimDriver({ vms: new Map([[left, { state: "running", address: null, sshPort: null, error: null, detail: null }]]) });
  const agent = s.startAgent(driver, `http://127.0.0.1:${await freePort()}`);
  await s.stopAgent(agent, true);
  assert.deepEqual(driver.calls, [["stop", left]]);
  assert.equal(driver.vms.get(left)?.state, "gone");
});

test("shutdown ends a liveness probe in flight before it closes the driver", async (t) => {
  const s = await story(t);
  const driver = new SimDriver();
  const agent = s.startAgent(driver);
  await agent.online();
  const vm = await s.deploy();
  await s.until("the VM to run", vm.id, (v) => v.state === "running");

  const release = driver.holdInspect(vm.id);
  const seen = driver.inspections.get(vm.id) ?? 0;
  await waitFor("a liveness probe to ask the driver", s, () => ((driver.inspections.get(vm.id) ?? 0) > seen ? true : undefined));
  const stopping = s.stopAgent(agent, true);
  // Long enough for a shutdown that does not wait to reach close(); the probe is still held then.
  await sleep(200);
  release();
  await stopping;
  assert.equal(driver.count("stop", vm.id), 1);
  assert.ok(driver.vms.has(vm.id), "stopped, not deleted");
});

test("an agent refuses, at start, an ssh host that the server would refuse on every sync", () => {
  for (const sshHost of ["-oProxyCommand=touch /tmp/pwned", "node 1", "root@node1", ""]) {
    assert.throws(
      () =>
        new Agent({
          serverUrl: "http://127.0.0.1:1",
          nodeName: "h1",
          token: HOST_TOKEN,
          driver: new SimDriver(),
          sshHost,
          probeHost: "127.0.0.1",
          facts: { memoryMiB: 8192, cpus: 8 },
          log: () => {},
        }),
      (err: unknown) => err instanceof Invalid && err.field === "sshHost" && /not a host name or IP address/.test(err.message),
      sshHost,
    );
  }
});

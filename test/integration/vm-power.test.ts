// Stop, start and reboot, on SQLite and on PostgreSQL, against a node agent on the sim driver: the
// states a user sees (stopped keeps the VM's files, slot and hostname; start boots it again; reboot
// comes back), the 409s that say what to do, a 404 for another user, the history and the audit log.
// And restartOnCrash: a crashed VM of such an image is started again (3 times an hour), a plain one fails.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Vm, VmHistoryEntry } from "../../src/core/api.js";
import type { Agent } from "../../src/node/agent.js";
import { SimDriver } from "../../src/node/drivers/sim/driver.js";
import { eventually } from "../support/processes.js";
import { startSimAgent } from "../support/sim-agent.js";
import { DIALECTS, KEY, TINY_IMAGE, startTestServer, type TestServer } from "../support/server.js";

const CRASH = { state: "gone" as const, error: "the VM stopped unexpectedly: QEMU was killed by SIGKILL", detail: "QEMU was killed by SIGKILL" };

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;
    let agent: Agent;
    // No simBootSeconds and no ssh port: guests never answer, so the prober looks every second.
    const driver = new SimDriver();
    const nodeLog: string[] = [];
    let alice: string;
    let bob: string;
    let admin: string;

    before(async () => {
      server = await startTestServer({ images: [TINY_IMAGE, { ...TINY_IMAGE, tag: "tiny-restart", name: "Tiny, restarted on crash", restartOnCrash: true }] }, dialect);
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
      agent = await startSimAgent(url, driver, (line) => nodeLog.push(line));
      alice = await server.tokenFor("alice");
      bob = await server.tokenFor("bob");
      admin = await server.tokenFor("root-admin", true);
    });

    after(async () => {
      await agent.shutdown(false);
      await server.close();
    });

    async function call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> & Vm }> {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> & Vm };
    }
    const show = async (id: string) => (await call(alice, "GET", `/vms/${id}`)).json;
    const until = (what: string, id: string, matches: (vm: Vm) => boolean) =>
      eventually(what, 30_000, async () => {
        const vm = await show(id);
        return matches(vm) ? vm : undefined;
      }, 50);
    const history = async (id: string) => ((await call(alice, "GET", `/vms/${id}/history`)).json as unknown as { items: VmHistoryEntry[] }).items;
    const deploy = async (image = "tiny") => {
      const res = await call(alice, "POST", "/vms", { image, sshKeys: [KEY] });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return until("the VM to run", res.json.id, (vm) => vm.state === "running");
    };

    test("stop keeps the VM's files and hostname, start boots it again, reboot comes back; wrong states are 409s that say what to do", async () => {
      const vm = await deploy();

      // Another user's VM is not there for bob, whatever he asks of it.
      for (const verb of ["stop", "start", "reboot"]) {
        const refused = await call(bob, "POST", `/vms/${vm.id}/${verb}`);
        assert.equal(refused.status, 404, `${verb} by bob`);
        assert.match(String(refused.json.detail), /no VM with id/);
      }
      const badTable: Array<[string, unknown, number, RegExp]> = [
        ["start", undefined, 409, /VM vm-\S+ is running; it cannot be started: it runs already/],
        ["reboot", { force: "yes" }, 400, /force/],
        ["stop", { force: true, hard: true }, 400, /hard/],
      ];
      for (const [verb, body, status, words] of badTable) {
        const res = await call(alice, "POST", `/vms/${vm.id}/${verb}`, body);
        assert.equal(res.status, status, `${verb} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`);
        assert.match(String(res.json.detail), words);
        if (status === 409) assert.match(String(res.json.type), /wrong-state$/);
      }

      const stopping = await call(alice, "POST", `/vms/${vm.id}/stop`);
      assert.equal(stopping.status, 202, JSON.stringify(stopping.json));
      assert.equal(stopping.json.state, "stopped");
      const stopped = await until("the node to confirm the stop", vm.id, (v) => v.transition === null);
      assert.deepEqual([stopped.state, stopped.responding, stopped.ssh, stopped.name], ["stopped", false, null, vm.name]);
      assert.equal(driver.vms.get(vm.id)?.state, "gone", "its guest no longer runs");
      assert.equal(driver.count("destroy", vm.id), 0, "its files stay");

      for (const [verb, body, status, words] of [
        ["stop", undefined, 409, /is stopped; it cannot be stopped: it is stopped already/],
        ["reboot", undefined, 409, /is stopped; it cannot be rebooted: start it first .*vgrid start/],
        ["start", { force: true }, 400, /a start has nothing to force/],
      ] as const) {
        const res = await call(alice, "POST", `/vms/${vm.id}/${verb}`, body);
        assert.equal(res.status, status, `${verb}: ${JSON.stringify(res.json)}`);
        assert.match(String(res.json.detail), words);
      }

      const starting = await call(alice, "POST", `/vms/${vm.id}/start`);
      assert.equal(starting.status, 202);
      assert.equal(starting.json.state, "provisioning");
      await until("the VM to run again", vm.id, (v) => v.state === "running");
      assert.equal(driver.count("create", vm.id), 2, "created again, its files kept");
      assert.equal(driver.count("start", vm.id), 2);

      for (const force of [false, true]) {
        const rebooting = await call(alice, "POST", `/vms/${vm.id}/reboot`, force ? { force } : undefined);
        assert.equal(rebooting.status, 202);
        assert.deepEqual([rebooting.json.state, rebooting.json.transition], ["running", "rebooting"]);
        await until("the node to confirm the reboot", vm.id, (v) => v.transition === null);
      }
      assert.equal(driver.count("reboot", vm.id), 2, "each reboot carried out once");

      // An admin stops anyone's VM (at once, with force); a stopped VM is terminated as any other.
      assert.equal((await call(admin, "POST", `/vms/${vm.id}/stop`, { force: true })).status, 202);
      await until("the forced stop", vm.id, (v) => v.transition === null);
      assert.equal((await call(alice, "DELETE", `/vms/${vm.id}`)).status, 202);
      await until("the VM terminated", vm.id, (v) => v.state === "terminated");

      const steps = (await history(vm.id)).filter((e) => e.by !== "node").map((e) => [e.state, e.by, e.detail]);
      assert.deepEqual(steps, [
        ["pending", "alice", "tiny, 256 MiB, 1 cpu, on h1"],
        ["stopped", "alice", "stopped: its guest asked to power down, its disk kept"],
        ["provisioning", "alice", "started again from its own disk"],
        ["running", "alice", "reboot asked"],
        ["running", "alice", "reset asked (forced reboot)"],
        ["stopped", "root-admin", "stopped at once (forced), its disk kept"],
        ["terminating", "alice", null],
      ]);
      const byNode = (await history(vm.id)).filter((e) => e.by === "node").map((e) => e.detail);
      assert.equal(byNode.filter((d) => d === "rebooted").length, 2, `the node said each reboot was done: ${JSON.stringify(byNode)}`);

      const audit = await call(admin, "GET", `/audit?target=${vm.id}`);
      const actions = (audit.json as unknown as { items: Array<{ actor: string; action: string; detail: string | null }> }).items.map((a) => `${a.actor} ${a.action} ${a.detail ?? ""}`.trim());
      assert.deepEqual(actions.reverse(), [
        "alice vm.deploy",
        "alice vm.stop",
        "alice vm.start",
        "alice vm.reboot",
        "alice vm.reboot force",
        "root-admin vm.stop force",
        "alice vm.terminate",
      ]);
    });

    test("a crashed VM of a restartOnCrash image is started again, 3 times an hour, then failed as crashing too often; a plain one fails", async () => {
      const plain = await deploy("tiny");
      const restarted = await deploy("tiny-restart");

      driver.setCondition(plain.id, CRASH);
      const failed = await until("the plain VM to fail", plain.id, (v) => v.state === "failed");
      assert.equal(failed.error, CRASH.error);

      for (let restart = 1; restart <= 3; restart++) {
        driver.setCondition(restarted.id, CRASH);
        await eventually(`restart ${restart}`, 30_000, async () => (driver.count("start", restarted.id) === restart + 1 && driver.vms.get(restarted.id)?.state === "running") || undefined, 20);
        const crashes = await eventually(`the history row of restart ${restart}`, 30_000, async () => {
          const rows = (await history(restarted.id)).filter((e) => /after a crash/.test(e.detail ?? ""));
          return rows.length >= restart ? rows : undefined;
        }, 50);
        assert.equal(crashes.length, restart, `a history row per restart: ${JSON.stringify(crashes)}`);
        assert.match(crashes.at(-1)!.detail!, new RegExp(`restart ${restart} of at most 3 an hour\\): the VM stopped unexpectedly`));
      }
      assert.equal((await until("the restarted VM to run", restarted.id, (v) => v.state === "running")).error, null);

      driver.setCondition(restarted.id, CRASH);
      const tooOften = await until("the VM that crashes too often to fail", restarted.id, (v) => v.state === "failed");
      assert.match(tooOften.error ?? "", /crashed too often: 4 times within an hour.*restartOnCrash.*QEMU was killed by SIGKILL/);
      assert.equal(driver.count("start", restarted.id), 4, "not started a fifth time");
    });
  });
}

// A VM's boot log (GET /api/v1/vms/{id}/log) through the real node protocol, on SQLite and on
// PostgreSQL: a node agent on the sim driver ships its guest's console, the owner reads it as text,
// the newest 1 MiB of it, another user gets a 404, and a restarted node goes on without doubling a line.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_VM_LOG_BYTES, type Vm } from "../../src/core/api.js";
import { MAX_CONSOLE_CHUNK_BYTES, type ConsolePosition, type SyncResponse } from "../../src/core/protocol.js";
import { Agent } from "../../src/node/agent.js";
import { SimDriver, type SimConsole, type SimVm } from "../../src/node/drivers/sim/driver.js";
import { eventually } from "../support/processes.js";
import { startSimAgent } from "../support/sim-agent.js";
import { DIALECTS, KEY, NODE_TOKEN, startTestServer, syncBody, type TestServer } from "../support/server.js";

/** Numbered lines `from` to `to` (exclusive) of about 100 bytes each, as a chatty guest prints them. */
function lines(from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i++) text += `line ${String(i).padStart(6, "0")} ${"x".repeat(84)}\r\n`;
  return text;
}

/** The numbers of the whole numbered lines of `log`, in order. */
function lineNumbers(log: string): number[] {
  return [...log.matchAll(/^line (\d{6}) x{84}\r$/gm)].map((m) => Number(m[1]));
}

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;
    const agents: Agent[] = [];
    // The sim driver's VMs and consoles outlive its agent, as QEMU and console.log do.
    const vms = new Map<string, SimVm>();
    const consoles = new Map<string, SimConsole>();
    const nodeLog: string[] = [];

    async function startAgent(): Promise<SimDriver> {
      const driver = new SimDriver({ vms, consoles, bootSeconds: 0 });
      agents.push(await startSimAgent(url, driver, (line) => nodeLog.push(line)));
      return driver;
    }

    async function call(token: string, method: string, path: string, body?: unknown): Promise<Response> {
      return fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    }

    async function logOf(token: string, id: string): Promise<string> {
      const res = await call(token, "GET", `/vms/${id}/log`);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
      return res.text();
    }

    before(async () => {
      server = await startTestServer({}, dialect);
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    });

    after(async () => {
      for (const agent of agents) await agent.shutdown(false);
      await server.close();
    });

    test("the owner reads the VM's console as it printed it, the newest 1 MiB, across a node restart; others get a 404", { timeout: 180_000 }, async () => {
      const driver = await startAgent();
      const alice = await server.tokenFor("alice");
      const bob = await server.tokenFor("bob");
      const admin = await server.tokenFor("root-admin", true);
      const deployed = (await (await call(alice, "POST", "/vms", { image: "tiny", sshKeys: [KEY] })).json()) as Vm;
      await eventually("the VM to run", 30_000, async () => ((await (await call(alice, "GET", `/vms/${deployed.id}`)).json()) as Vm).state === "running" || undefined);

      // The sim driver's guest "boots" with a few lines that say they are simulated.
      const booted = await eventually("the boot log", 30_000, async () => {
        const log = await logOf(alice, deployed.id);
        return log.includes("is up") ? log : undefined;
      });
      assert.match(booted, /^vgrid sim driver: this console is simulated/);
      assert.equal(await logOf(admin, deployed.id), booted, "an admin reads it too");
      const refused = await call(bob, "GET", `/vms/${deployed.id}/log`);
      assert.equal(refused.status, 404, "another user's VM is not there for bob");
      assert.match(refused.headers.get("content-type") ?? "", /^application\/problem\+json/);
      assert.match(((await refused.json()) as { detail: string }).detail, /no VM with id/);

      // A chatty guest: more than 1 MiB, and a byte that is not UTF-8. The log keeps the newest 1 MiB.
      driver.printOnConsole(deployed.id, lines(0, 6000));
      driver.printOnConsole(deployed.id, Buffer.from([0x62, 0x61, 0x64, 0xff, 0x0d, 0x0a]));
      driver.printOnConsole(deployed.id, lines(6000, 12_000));
      const bounded = await eventually("the chatty guest's last line", 120_000, async () => {
        const log = await logOf(alice, deployed.id);
        return log.endsWith(lines(11_999, 12_000)) ? log : undefined;
      }, 1000);
      assert.ok(Buffer.byteLength(bounded) <= MAX_VM_LOG_BYTES, `${Buffer.byteLength(bounded)} bytes`);
      assert.ok(Buffer.byteLength(bounded) > MAX_VM_LOG_BYTES - 200, "the whole 1 MiB is kept");
      assert.ok(!bounded.includes("simulated"), "the oldest text went first");
      assert.ok(bounded.includes("bad\uFFFD\r\n"), "a byte that is not UTF-8 reads as U+FFFD");
      const kept = lineNumbers(bounded);
      assert.equal(kept.at(-1), 11_999);
      assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => kept[0]! + i), "every line once, in order");

      // The node restarts; its guest prints on meanwhile. The new agent goes on from where the server is.
      await agents.pop()!.shutdown(false);
      driver.printOnConsole(deployed.id, lines(12_000, 12_050));
      await startAgent();
      const resumed = await eventually("the lines printed while the node was down", 60_000, async () => {
        const log = await logOf(alice, deployed.id);
        return log.endsWith(lines(12_049, 12_050)) ? log : undefined;
      });
      const after = lineNumbers(resumed);
      assert.deepEqual(after, Array.from({ length: after.length }, (_, i) => after[0]! + i), "nothing doubled, nothing lost across the restart");
      assert.ok(!nodeLog.some((l) => l.startsWith("reading the VM's console failed")), nodeLog.join("\n"));

      // Terminated, the VM's console is gone from the node; its log stays readable with its row.
      assert.equal((await call(alice, "DELETE", `/vms/${deployed.id}`)).status, 202);
      await eventually("the VM to be terminated", 30_000, async () => ((await (await call(alice, "GET", `/vms/${deployed.id}`)).json()) as Vm).state === "terminated" || undefined);
      assert.equal(consoles.has(deployed.id), false);
      assert.equal(await logOf(alice, deployed.id), resumed);
      assert.equal((await call(bob, "GET", `/vms/${deployed.id}/log`)).status, 404);
    });

    test("a node's console bytes are kept once: a sync sent again, a chunk read again longer, a gap, a new run", async (t) => {
      // A server of its own, whose node is this test: each sync is sent by hand, as a node would.
      const own = await startTestServer({}, dialect);
      t.after(() => own.close());
      await own.bringNodeOnline();
      const alice = await own.tokenFor("alice");
      const vm = (await own.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${alice}` }, payload: { image: "tiny", sshKeys: [KEY] } })).json<Vm>();
      const sync = async (chunks: Array<{ stream: string; offset: number; text: string | Buffer }>): Promise<ConsolePosition[] | undefined> => {
        const consoles = chunks.map((c) => ({ id: vm.id, stream: c.stream, offset: c.offset, data: Buffer.from(c.text).toString("base64") }));
        const res = await own.app.inject({ method: "POST", url: "/api/v1/nodes/sync", headers: { authorization: `Bearer ${NODE_TOKEN}` }, payload: syncBody("h1", { consoles }) });
        assert.equal(res.statusCode, 200, res.body);
        return res.json<SyncResponse>().consoles;
      };
      const log = async () => (await own.app.inject({ method: "GET", url: `/api/v1/vms/${vm.id}/log`, headers: { authorization: `Bearer ${alice}` } })).body;

      assert.deepEqual(await sync([]), [], "no log yet: no position");
      assert.equal(await log(), "", "an empty log is empty text");
      assert.deepEqual(await sync([{ stream: "run1", offset: 0, text: "hello " }]), [{ id: vm.id, stream: "run1", offset: 6 }]);
      assert.deepEqual(await sync([{ stream: "run1", offset: 0, text: "hello " }]), [{ id: vm.id, stream: "run1", offset: 6 }], "sent again: its answer was lost");
      await sync([{ stream: "run1", offset: 3, text: "lo world\n" }]);
      assert.equal(await log(), "hello world\n", "read again from an older position, longer: only the new bytes");
      assert.deepEqual(await sync([{ stream: "run1", offset: 40, text: "later" }]), [{ id: vm.id, stream: "run1", offset: 12 }], "a gap: dropped, and the node told where the log ends");
      await sync([{ stream: "run2", offset: 5, text: "middle" }]);
      assert.equal(await log(), "hello world\n", "a new run is not taken from its middle");
      assert.deepEqual(await sync([{ stream: "run2", offset: 0, text: "booted again\n" }]), [{ id: vm.id, stream: "run2", offset: 13 }]);
      assert.equal(await log(), "hello world\nbooted again\n");

      // Twenty full chunks: the store keeps the newest 1 MiB (and a row), the log answers 1 MiB.
      let offset = 13;
      for (let i = 0; i < 20; i++) {
        const text = Buffer.alloc(MAX_CONSOLE_CHUNK_BYTES, 0x61 + i);
        assert.deepEqual(await sync([{ stream: "run2", offset, text }]), [{ id: vm.id, stream: "run2", offset: offset + text.length }]);
        offset += text.length;
      }
      const text = await log();
      assert.equal(text.length, MAX_VM_LOG_BYTES);
      assert.ok(text.endsWith("t".repeat(MAX_CONSOLE_CHUNK_BYTES)), "the newest bytes kept");
      const stored = await own.ctx.db.selectFrom("vm_log_chunks").select("data").where("vm_id", "=", vm.id).execute();
      const bytes = stored.reduce((n, r) => n + r.data.length, 0);
      assert.ok(bytes <= MAX_VM_LOG_BYTES + MAX_CONSOLE_CHUNK_BYTES, `the store keeps ${bytes} bytes of the log`);
    });
  });
}

// A node speaks only for itself, and only once its secret is checked: before its body is even read,
// a request without a host's secret is a 401; a host's secret cannot sync as another host, nor report
// the VMs placed on another, nor write their boot logs; every value a node sends is bounded. Over the
// real HTTP stack, on SQLite and on PostgreSQL; each refusal leaves the store as it was.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { Vm } from "../../src/core/api.js";
import { MAX_CONSOLE_CHUNK_BYTES, MAX_SYNC_BODY_BYTES, type ConsoleChunk, type VmReport } from "../../src/core/protocol.js";
import { DIALECTS, KEY, NODE_TOKEN, SECOND_NODE_TOKEN, startTestServer, syncBody, TWO_HOSTS, type TestServer } from "../support/server.js";

const H2_TOKEN = SECOND_NODE_TOKEN;
const SYNC = "/api/v1/nodes/sync";

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let h2Vm: Vm;
    /** The server's warnings, one JSON line each. */
    const warnings: Array<{ msg: string; node?: string }> = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });

    const sync = (token: string | undefined, payload: unknown, headers: Record<string, string> = {}) =>
      server.app.inject({
        method: "POST",
        url: SYNC,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), "content-type": "application/json", ...headers },
        payload: typeof payload === "string" ? payload : JSON.stringify(payload),
      });
    const report = (id: string, over: Partial<VmReport> = {}): VmReport => ({
      id, state: "running", responding: true, sshPort: 2222, ip: null, error: null, detail: null, ...over,
    });
    const chunk = (id: string, over: Partial<ConsoleChunk> = {}): ConsoleChunk => ({
      id, stream: "run1", offset: 0, data: Buffer.from("Linux version 6.1\n").toString("base64"), ...over,
    });
    const logRows = (id: string) => server.ctx.db.selectFrom("vm_log_chunks").select(["log_start", "data"]).where("vm_id", "=", id).execute();

    before(async () => {
      server = await startTestServer({ hosts: TWO_HOSTS }, dialect, log);
      // Only h2 is online: the VM goes there.
      assert.equal((await sync(H2_TOKEN, syncBody("h2"))).statusCode, 200);
      const alice = await server.tokenFor("alice");
      const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${alice}` }, payload: { image: "tiny", sshKeys: [KEY] } });
      assert.equal(res.statusCode, 201, res.body);
      h2Vm = res.json<Vm>();
      assert.equal(h2Vm.host, "h2");
    });

    after(async () => server.close());

    const h1Row = () => server.ctx.db.selectFrom("hosts").select(["last_seen_at", "ssh_host"]).where("name", "=", "h1").executeTakeFirstOrThrow();
    const h2VmRow = () => server.ctx.db.selectFrom("vms").select(["state", "ssh_port"]).where("id", "=", h2Vm.id).executeTakeFirstOrThrow();

    test("without a host's secret a sync is a 401 before its body is read: broken, oversized or from a user", async () => {
      const user = await server.tokenFor("mallory");
      const rows: Array<{ why: string; token: string | undefined; payload: string; words: string }> = [
        { why: "no credentials, broken JSON", token: undefined, payload: '{"node": "h1",', words: "no credentials" },
        { why: "an unknown secret, broken JSON", token: "not-a-node-secret-at-all-0123456789", payload: '{"node": "h1",', words: "no host's" },
        { why: "an unknown secret, a body over the limit", token: "not-a-node-secret-at-all-0123456789", payload: JSON.stringify({ pad: "x".repeat(MAX_SYNC_BODY_BYTES + 1000) }), words: "no host's" },
        { why: "a user's token", token: user, payload: JSON.stringify(syncBody("h1")), words: "no host's" },
      ];
      for (const row of rows) {
        const res = await sync(row.token, row.payload);
        assert.equal(res.statusCode, 401, `${row.why}: ${res.body}`);
        assert.equal(res.json<{ type: string }>().type, "/problems/unauthorized", row.why);
        assert.match(res.json<{ detail: string }>().detail, new RegExp(row.words), row.why);
      }
      assert.equal((await h1Row()).last_seen_at, null, "h1 was never seen");
    });

    test("a host's secret cannot sync as another host, nor report another host's VM, nor write its log", async () => {
      const asOther = await sync(NODE_TOKEN, syncBody("h2", { sshHost: "evil.example" }));
      assert.equal(asOther.statusCode, 403, asOther.body);
      assert.match(asOther.json<{ detail: string }>().detail, /host 'h1''s; it cannot sync as 'h2'/);
      const h2 = await server.ctx.db.selectFrom("hosts").select("ssh_host").where("name", "=", "h2").executeTakeFirstOrThrow();
      assert.equal(h2.ssh_host, "127.0.0.1", "h2's address is unchanged");

      const before = await h2VmRow();
      const foreign = await sync(NODE_TOKEN, syncBody("h1", { reports: [report(h2Vm.id, { state: "terminated", sshPort: null })] }));
      assert.equal(foreign.statusCode, 403, foreign.body);
      assert.match(foreign.json<{ detail: string }>().detail, /placed on another host/);
      assert.deepEqual(await h2VmRow(), before, "h2's VM is untouched");
      assert.equal((await h1Row()).last_seen_at, null, "and the refused sync recorded nothing of h1 either");

      assert.deepEqual(
        warnings.map((w) => w.msg),
        ["node h1 tried to sync as h2: refused", "node h1 reported VMs of another host: refused"],
        "each refusal is in the log",
      );

      // Its own host, with a VM the store does not know (left from another server): served.
      const own = await sync(NODE_TOKEN, syncBody("h1", { reports: [report("00000000-0000-4000-8000-000000000000")] }));
      assert.equal(own.statusCode, 200, own.body);

      // Nor may it write another host's VM's boot log.
      const foreignLog = await sync(NODE_TOKEN, syncBody("h1", { consoles: [chunk(h2Vm.id, { data: Buffer.from("forged boot\n").toString("base64") })] }));
      assert.equal(foreignLog.statusCode, 403, foreignLog.body);
      assert.match(foreignLog.json<{ detail: string }>().detail, /placed on another host/);
      assert.deepEqual(await logRows(h2Vm.id), [], "h2's VM's log is untouched");
      assert.equal(warnings.at(-1)?.msg, "node h1 reported VMs of another host: refused");
    });

    test("values a node reports out of their bounds are a 400 naming them, and change nothing", async () => {
      const id = h2Vm.id;
      const rows: Array<{ why: string; body: unknown; field: string }> = [
        { why: "port 0", body: syncBody("h2", { reports: [report(id, { sshPort: 0 })] }), field: "sshPort" },
        { why: "port 65536", body: syncBody("h2", { reports: [report(id, { sshPort: 65536 })] }), field: "sshPort" },
        { why: "an address that is none", body: syncBody("h2", { reports: [report(id, { ip: "999.1.1.1" })] }), field: "ip" },
        { why: "a word as an address", body: syncBody("h2", { reports: [report(id, { ip: "deadbeef" })] }), field: "ip" },
        { why: "an address with a command", body: syncBody("h2", { reports: [report(id, { ip: "1.2.3.4; reboot" })] }), field: "ip" },
        { why: "an error of 5 KB", body: syncBody("h2", { reports: [report(id, { state: "failed", error: "e".repeat(5000) })] }), field: "error" },
        { why: "a detail of 9 KB", body: syncBody("h2", { reports: [report(id, { state: "failed", detail: "d".repeat(9000) })] }), field: "detail" },
        { why: "an id longer than any", body: syncBody("h2", { reports: [report(`${id}-and-more`)] }), field: "id" },
        { why: "memory beyond any machine", body: syncBody("h2", { facts: { memoryMiB: 2 ** 40, cpus: 8 } }), field: "memoryMiB" },
        { why: "a negative version", body: syncBody("h2", { version: -1 }), field: "version" },
        { why: "too many host keys", body: syncBody("h2", { reports: [report(id, { sshHostKeys: Array.from({ length: 9 }, () => "ssh-ed25519 AAAA") })] }), field: "sshHostKeys" },
        { why: "a console chunk over 64 KiB", body: syncBody("h2", { consoles: [chunk(id, { data: Buffer.alloc(MAX_CONSOLE_CHUNK_BYTES + 3, 0x41).toString("base64") })] }), field: "data" },
        { why: "console bytes that are not base64", body: syncBody("h2", { consoles: [chunk(id, { data: "not base64!" })] }), field: "data" },
        { why: "an empty console chunk", body: syncBody("h2", { consoles: [chunk(id, { data: "" })] }), field: "data" },
        { why: "a negative console offset", body: syncBody("h2", { consoles: [chunk(id, { offset: -1 })] }), field: "offset" },
        { why: "a console offset beyond any", body: syncBody("h2", { consoles: [chunk(id, { offset: 2 ** 60 })] }), field: "offset" },
        { why: "a console run named with a space", body: syncBody("h2", { consoles: [chunk(id, { stream: "run 1" })] }), field: "stream" },
        { why: "a console run name of 65 characters", body: syncBody("h2", { consoles: [chunk(id, { stream: "r".repeat(65) })] }), field: "stream" },
      ];
      const before = await h2VmRow();
      for (const row of rows) {
        const res = await sync(H2_TOKEN, row.body);
        assert.equal(res.statusCode, 400, `${row.why}: ${res.body}`);
        const problem = res.json<{ type: string; detail: string }>();
        assert.equal(problem.type, "/problems/invalid", row.why);
        assert.ok(problem.detail.includes(row.field), `${row.why}: '${problem.detail}' should name ${row.field}`);
      }
      assert.deepEqual(await h2VmRow(), before, "the VM is as it was");
      assert.deepEqual(await logRows(id), [], "its log too");
      const fine = await sync(H2_TOKEN, syncBody("h2", { reports: [report(id, { ip: "10.0.2.15" })] }));
      assert.equal(fine.statusCode, 200, `a report within bounds is taken: ${fine.body}`);
      const full = await sync(H2_TOKEN, syncBody("h2", { consoles: [chunk(id, { data: Buffer.alloc(MAX_CONSOLE_CHUNK_BYTES, 0x41).toString("base64") })] }));
      assert.equal(full.statusCode, 200, `a chunk of 64 KiB is taken: ${full.body}`);
      assert.equal((await logRows(id)).reduce((n, r) => n + r.data.length, 0), MAX_CONSOLE_CHUNK_BYTES);
    });
  });
}

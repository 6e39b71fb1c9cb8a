// Terminating a VM, as its owner and as an admin, on SQLite and on PostgreSQL: DELETE takes an optional
// {reason}; an admin terminating another user's VM must give one; the owner then sees who did it and
// why, in GET /vms/{id}, in the event stream, in the VM's history, and the audit log keeps the reason.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditEntry, Problem, Vm } from "../../src/core/api.js";
import { DIALECTS, NODE_TOKEN, startTestServer, type TestServer } from "../support/server.js";

interface Refusal {
  why: string;
  body?: unknown;
  raw?: string;
  words: string[];
}

/** What an admin sends to terminate bob's VM that is refused, with the words the problem must hold. */
const refusals: Refusal[] = [
  { why: "no body at all", words: ["bob's", "reason"] },
  { why: "an empty object", body: {}, words: ["bob's", "reason"] },
  { why: "null", raw: "null", words: ["bob's", "reason"] },
  { why: "an empty reason", body: { reason: "" }, words: ["body.reason", "fewer than 1"] },
  { why: "a blank reason", body: { reason: "   " }, words: ["reason is blank"] },
  { why: "a reason on two lines", body: { reason: "first\nsecond" }, words: ["one line"] },
  { why: "a reason with an escape sequence", body: { reason: "\u001b[31mred" }, words: ["control characters"] },
  { why: "a reason too long", body: { reason: "x".repeat(501) }, words: ["body.reason", "500"] },
  { why: "a reason that is not text", body: { reason: 42 }, words: ["body.reason", "string"] },
  { why: "an unknown field", body: { why: "old" }, words: ["unknown field 'why'"] },
];

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;
    let alice: string;
    let bob: string;
    let admin: string;

    before(async () => {
      server = await startTestServer({ hosts: [{ name: "h1", maxVms: 20, memoryMiB: 1 << 16, cpus: 64, token: NODE_TOKEN }] }, dialect);
      await server.bringNodeOnline();
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
      alice = await server.tokenFor("alice");
      bob = await server.tokenFor("bob");
      admin = await server.tokenFor("root-admin");
    });
    after(async () => server.close());

    const terminations = async (id: string) =>
      (await server.call(admin, "GET", `/audit?action=vm.terminate&target=${id}`)).json<{ items: AuditEntry[] }>().items.map((e) => [e.actor, e.detail]);

    test("an admin terminating another user's VM must say why: without a reason it is a 400 naming reason, and the VM lives on", async () => {
      const vm = await server.deploy(bob);
      for (const row of refusals) {
        const res = await server.app.inject({
          method: "DELETE",
          url: `/api/v1/vms/${vm.id}`,
          headers: { authorization: `Bearer ${admin}`, ...(row.body !== undefined || row.raw !== undefined ? { "content-type": "application/json" } : {}) },
          ...(row.raw !== undefined ? { payload: row.raw } : row.body !== undefined ? { payload: row.body as object } : {}),
        });
        assert.equal(res.statusCode, 400, `${row.why}: ${res.body}`);
        assert.match(res.headers["content-type"] as string, /^application\/problem\+json/, row.why);
        const problem = res.json<Problem>();
        assert.equal(problem.type, "/problems/invalid", row.why);
        assert.match(problem.field ?? "", /reason|body/, `${row.why}: the problem names the field`);
        for (const w of row.words) assert.ok(problem.detail.includes(w), `${row.why}: '${problem.detail}' should mention '${w}'`);
      }
      const still = (await server.call(bob, "GET", `/vms/${vm.id}`)).json<Vm>();
      assert.deepEqual([still.state, still.terminatedBy, still.reason], ["pending", null, null]);
      assert.deepEqual(await terminations(vm.id), [], "nothing was audited");
    });

    test("the owner sees who terminated their VM and why: in GET /vms/{id}, in their event stream, in its history", async () => {
      const vm = await server.deploy(bob);
      const events = await fetch(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${bob}` } });
      assert.equal(events.status, 200);
      const reason = "host h1 is being retired; redeploy on another";
      const ended = await server.call(admin, "DELETE", `/vms/${vm.id}`, { reason: `  ${reason} ` });
      assert.equal(ended.statusCode, 202, ended.body);
      assert.deepEqual(pick(ended.json<Vm>()), ["terminating", "root-admin", reason], "trimmed");

      assert.deepEqual(pick((await server.call(bob, "GET", `/vms/${vm.id}`)).json<Vm>()), ["terminating", "root-admin", reason]);
      const heard = await firstEvent(events, (e) => e.id === vm.id && e.state === "terminating");
      assert.deepEqual(pick(heard), ["terminating", "root-admin", reason]);
      const history = (await server.call(bob, "GET", `/vms/${vm.id}/history`)).json<{ items: Array<{ state: string; by: string; detail: string | null }> }>();
      assert.deepEqual(history.items.at(-1), { ...history.items.at(-1), state: "terminating", by: "root-admin", detail: reason });
      assert.deepEqual(await terminations(vm.id), [["root-admin", reason]], "the audit row carries the reason");

      const again = await server.call(alice, "DELETE", `/vms/${vm.id}`, { reason: "not hers" });
      assert.equal(again.statusCode, 404, "another user still cannot touch it");
    });

    test("an owner terminates with no body, an empty body or a reason; an admin their own VM without one", async () => {
      const plain = await server.deploy(alice);
      assert.deepEqual(pick((await server.call(alice, "GET", `/vms/${plain.id}`)).json<Vm>()), ["pending", null, null], "nothing until termination is asked");
      const res = await server.call(alice, "DELETE", `/vms/${plain.id}`);
      assert.equal(res.statusCode, 202, res.body);
      assert.deepEqual(pick(res.json<Vm>()), ["terminating", "alice", null]);
      assert.deepEqual(await terminations(plain.id), [["alice", null]]);

      const empty = await server.deploy(alice);
      const sent = await fetch(`${url}/api/v1/vms/${empty.id}`, { method: "DELETE", headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" } });
      assert.equal(sent.status, 202, "application/json with nothing after it is no body");

      const said = await server.deploy(alice);
      const withReason = await server.call(alice, "DELETE", `/vms/${said.id}`, { reason: "done with the exercise" });
      assert.deepEqual(pick(withReason.json<Vm>()), ["terminating", "alice", "done with the exercise"]);
      const twice = await server.call(alice, "DELETE", `/vms/${said.id}`, { reason: "another reason" });
      assert.equal(twice.statusCode, 202);
      assert.equal(twice.json<Vm>().reason, "done with the exercise", "asked again, it stays as the first asker left it");

      const own = await server.deploy(admin);
      const adminsOwn = await server.call(admin, "DELETE", `/vms/${own.id}`);
      assert.equal(adminsOwn.statusCode, 202, adminsOwn.body);
      assert.deepEqual(pick(adminsOwn.json<Vm>()), ["terminating", "root-admin", null]);
    });
  });
}

const pick = (vm: Vm) => [vm.state, vm.terminatedBy, vm.reason];

/** The first `vm` event of the stream that `match`es; the stream is closed after. */
async function firstEvent(res: Response, match: (vm: Vm) => boolean): Promise<Vm> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before the event: ${buffer}`);
      buffer += value;
      for (const m of buffer.matchAll(/^event: vm\ndata: (.*)$/gm)) {
        const vm = JSON.parse(m[1]!) as Vm;
        if (match(vm)) return vm;
      }
    }
  } finally {
    await reader.cancel();
  }
}

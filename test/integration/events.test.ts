// GET /api/v1/events over real HTTP: a user hears of their own VMs' changes, never of another's;
// an admin hears of all. A stream lasts only as long as its credential, and a while at most; a user
// holds a few at once.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import { sleep } from "../support/processes.js";
import { DIALECTS, KEY, startTestServer, type TestServer } from "../support/server.js";

/** The `vm` events of a stream until it ends (the server ends it), and whether it said how to reconnect. */
async function readToEnd(res: Response): Promise<{ events: Vm[]; retry: boolean }> {
  let text = "";
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) text += chunk;
  const events = [...text.matchAll(/^event: vm\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Vm);
  return { events, retry: /^retry: \d+$/m.test(text) };
}

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;

    before(async () => {
      server = await startTestServer({}, dialect);
      await server.bringNodeOnline();
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    });

    after(async () => server.close());

    /** Opens an event stream; once it resolves the server has subscribed, and `take(n)` reads n `vm` events. */
    async function subscribe(token: string): Promise<(count: number) => Promise<Vm[]>> {
      const abort = new AbortController();
      const res = await fetch(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      return async (count) => {
        const events: Vm[] = [];
        let buffer = "";
        while (events.length < count) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^event: vm\ndata: (.*)$/m.exec(block)?.[1];
            if (data) events.push(JSON.parse(data) as Vm);
          }
        }
        abort.abort();
        return events;
      };
    }

    async function post(token: string, path: string, body?: unknown, method = "POST"): Promise<Vm> {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await res.json()) as Vm;
    }

    test("event streams carry the caller's VM changes, and an admin's carry all", async () => {
      const alice = await server.tokenFor("alice");
      const bob = await server.tokenFor("bob");
      const admin = await server.tokenFor("root-admin", true);
      const aliceStream = await subscribe(alice);
      const adminStream = await subscribe(admin);
      await post(bob, "/vms", { image: "tiny", sshKeys: [KEY] });
      const alicesVm = await post(alice, "/vms", { image: "tiny", sshKeys: [KEY] });
      await post(alice, `/vms/${alicesVm.id}`, undefined, "DELETE");
      const [seenByAlice, seenByAdmin] = await Promise.all([aliceStream(2), adminStream(3)]);
      assert.deepEqual(seenByAlice.map((v) => [v.owner, v.state]), [["alice", "pending"], ["alice", "terminating"]]);
      assert.equal(seenByAlice[0]!.id, alicesVm.id);
      assert.deepEqual(seenByAdmin.map((v) => v.owner), ["bob", "alice", "alice"]);
    });

    test("closing the server ends open event streams instead of waiting on them", { timeout: 30_000 }, async () => {
      const other = await startTestServer({}, dialect);
      let closed = false;
      try {
        const url2 = await other.app.listen({ host: "127.0.0.1", port: 0 });
        const res = await fetch(`${url2}/api/v1/events`, { headers: { authorization: `Bearer ${await other.tokenFor("carol")}` } });
        const reader = res.body!.getReader();
        await reader.read(); // the stream is open
        await other.close(); // resolves only if the stream was ended
        closed = true;
        // The client sees the end of the stream: no more than the bytes already sent, then done.
        const reads: boolean[] = [];
        for (let i = 0; i < 5 && !reads.at(-1); i++) reads.push((await reader.read()).done);
        assert.equal(reads.at(-1), true, `the stream did not end: ${reads.length} reads`);
      } finally {
        if (!closed) await other.close();
      }
    });

    test("a stream ends at the next change once its token is revoked, and delivers nothing after", { timeout: 30_000 }, async () => {
      const alice = await server.tokenFor("alice");
      const created = await fetch(`${url}/api/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "laptop" }),
      });
      const laptop = (await created.json()) as { id: string; token: string };
      const res = await fetch(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${laptop.token}` } });
      assert.equal(res.status, 200);
      const read = readToEnd(res);
      const first = await post(alice, "/vms", { image: "tiny", sshKeys: [KEY] });
      // Revoked, then a change the stream would have carried: it ends instead of sending it.
      const revoked = await fetch(`${url}/api/v1/tokens/${laptop.id}`, { method: "DELETE", headers: { authorization: `Bearer ${alice}` } });
      assert.equal(revoked.status, 204);
      const second = await post(alice, "/vms", { image: "tiny", sshKeys: [KEY] });
      const { events } = await read;
      assert.ok(!events.some((e) => e.id === second.id), "nothing after the revocation reached the stream");
      assert.ok(events.every((e) => e.id === first.id), `only the first VM's changes: ${JSON.stringify(events.map((e) => e.id))}`);
    });

    test("an idle stream of a revoked token ends at the next periodic check", { timeout: 30_000 }, async (t) => {
      const quick = await startTestServer({ events: { recheckSeconds: 0.05 } }, dialect);
      t.after(() => quick.close());
      const quickUrl = await quick.app.listen({ host: "127.0.0.1", port: 0 });
      await quick.tokenFor("carol");
      const token = await quick.tokenFor("carol");
      const res = await fetch(`${quickUrl}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      await quick.ctx.db.deleteFrom("tokens").where("user_name", "=", "carol").execute();
      const { events } = await readToEnd(res); // resolves only if the server ended the stream
      assert.deepEqual(events, []);
    });

    test("a stream ends after its lifetime, having told the client when to reconnect", { timeout: 30_000 }, async (t) => {
      const brief = await startTestServer({ events: { lifetimeSeconds: 0.1 } }, dialect);
      t.after(() => brief.close());
      const briefUrl = await brief.app.listen({ host: "127.0.0.1", port: 0 });
      const res = await fetch(`${briefUrl}/api/v1/events`, { headers: { authorization: `Bearer ${await brief.tokenFor("dave")}` } });
      assert.equal(res.status, 200);
      assert.equal((await readToEnd(res)).retry, true, "the stream carries SSE's retry: field");
    });

    test("one user's streams are capped: one more is a 429, another user is served, and a closed one frees its place", async (t) => {
      const capped = await startTestServer({ events: { maxStreamsPerUser: 2 } }, dialect);
      t.after(() => capped.close());
      const cappedUrl = await capped.app.listen({ host: "127.0.0.1", port: 0 });
      const [erin, frank] = [await capped.tokenFor("erin"), await capped.tokenFor("frank")];
      const open = (token: string, signal?: AbortSignal) =>
        fetch(`${cappedUrl}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });
      const first = new AbortController();
      assert.equal((await open(erin, first.signal)).status, 200);
      const second = new AbortController();
      assert.equal((await open(erin, second.signal)).status, 200);
      const refused = await open(erin);
      assert.equal(refused.status, 429);
      assert.ok(refused.headers.get("retry-after"), "with Retry-After");
      const problem = (await refused.json()) as { type: string; detail: string };
      assert.equal(problem.type, "/problems/rate-limited");
      assert.match(problem.detail, /2 event streams open/);
      const other = new AbortController();
      assert.equal((await open(frank, other.signal)).status, 200, "another user opens one");
      first.abort();
      // The server hears of the close a moment later: the place is free once it has.
      let again = await open(erin);
      while (again.status === 429) {
        await sleep(20);
        again = await open(erin);
      }
      assert.equal(again.status, 200);
      await again.body?.cancel();
      second.abort();
      other.abort();
    });

    test("HEAD /api/v1/events answers without opening a stream", { timeout: 30_000 }, async () => {
      // inject() resolves once the answer has ended: a stream that never ends would hold it forever.
      const res = await server.app.inject({ method: "HEAD", url: "/api/v1/events", headers: { authorization: `Bearer ${await server.tokenFor("gina")}` } });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers["content-type"] as string, /^text\/event-stream/);
      assert.equal(res.body, "");
      const refused = await server.app.inject({ method: "HEAD", url: "/api/v1/events" });
      assert.equal(refused.statusCode, 401, "and asks for a login like GET");
    });
  });
}

// GET /api/v1/events over real HTTP: a user hears of their own VMs' changes, never of another's;
// an admin hears of all.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import { DIALECTS, KEY, startTestServer, type TestServer } from "../support/server.js";

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
  });
}

// A node that floods the server with syncs (a loop gone wrong, its token in a script) is slowed down
// with 429s, cheaply, while users deploy and list their VMs and the other nodes sync as usual; once it
// waits as told, it syncs again. Over real HTTP, on SQLite and on PostgreSQL.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import { NODE_SYNCS_PER_SECOND } from "../../src/server/api/routes/nodes.js";
import { HttpClient, type HttpAnswer } from "../support/http.js";
import { sleep } from "../support/processes.js";
import { DIALECTS, KEY, NODE_TOKEN, SECOND_NODE_TOKEN, startTestServer, syncBody, TWO_HOSTS, type TestServer } from "../support/server.js";
import { Api } from "../support/vgrid.js";

const OTHER_TOKEN = SECOND_NODE_TOKEN;
const SYNC = "/api/v1/nodes/sync";
/** At least this many syncs, on this many connections, for as long as the users' requests take. */
const FLOOD = { requests: 3000, connections: 8 };

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;
    let client: HttpClient;

    before(async () => {
      server = await startTestServer({ hosts: TWO_HOSTS }, dialect);
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
      client = new HttpClient(url, FLOOD.connections + 2);
      for (const [node, token] of [["h1", NODE_TOKEN], ["h2", OTHER_TOKEN]] as const) {
        assert.equal((await client.post(SYNC, token, syncBody(node))).status, 200, `${node} is online`);
      }
    });

    after(async () => {
      client.close();
      await server.close();
    });

    test("a node flooding syncs gets 429s with Retry-After; users deploy and list, other nodes sync, and it syncs again after waiting", async () => {
      const alice = new Api(url, await server.tokenFor("alice"));
      const syncsBefore = await server.metric("vgrid_node_syncs_total");

      // h1's token floods from several connections; every fourth body is broken JSON, which the limit
      // answers before the body is read. The flood goes on until the users' requests below are done.
      let usersDone = false;
      const answers: Array<HttpAnswer<{ type?: string; detail?: string }> & { broken: boolean }> = [];
      let underWay!: () => void;
      const limitedOrSent = new Promise<void>((resolve) => (underWay = resolve));
      const startedAt = Date.now();
      const flood = Promise.all(
        Array.from({ length: FLOOD.connections }, async (_, lane) => {
          for (let i = lane; i < FLOOD.requests || !usersDone; i += FLOOD.connections) {
            const broken = i % 4 === 3;
            const answer = await client.post<{ type?: string; detail?: string }>(SYNC, NODE_TOKEN, broken ? '{"node": "h1",' : syncBody("h1"));
            answers.push({ ...answer, broken });
            if (answer.status === 429 || answers.length >= FLOOD.requests) underWay();
          }
        }),
      );
      await limitedOrSent; // the node is being limited now (or never will be, and the test fails below)

      // Meanwhile, a user deploys and lists; the other node syncs.
      const deployed = await alice.call<Vm>("POST", "/vms", { image: "tiny", sshKeys: [KEY] });
      const listed = await alice.call<{ items: Vm[] }>("GET", "/vms");
      const otherNode = await client.post(SYNC, OTHER_TOKEN, syncBody("h2"));
      usersDone = true;
      await flood;
      const floodSeconds = (Date.now() - startedAt) / 1000;

      assert.equal(deployed.status, 201, `the deploy during the flood: ${JSON.stringify(deployed.body)}`);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.items.map((v) => v.id), [deployed.body.id], "the list during the flood shows the new VM");
      assert.equal(otherNode.status, 200, `another node's sync is not limited: ${JSON.stringify(otherNode.body)}`);

      const refused = answers.filter((a) => a.status === 429);
      const served = answers.filter((a) => a.status !== 429);
      assert.ok(refused.length > answers.length / 2, `most of the flood is refused: ${refused.length} of ${answers.length}`);
      // The limit holds: in each one-second window, at most NODE_SYNCS_PER_SECOND got through.
      const windows = Math.ceil(floodSeconds) + 1;
      assert.ok(served.length <= NODE_SYNCS_PER_SECOND * windows, `${served.length} served in ${floodSeconds} s`);
      for (const r of refused) {
        assert.match(String(r.headers["content-type"]), /^application\/problem\+json/);
        assert.equal(r.body.type, "/problems/rate-limited");
        assert.match(r.body.detail ?? "", new RegExp(`more than ${NODE_SYNCS_PER_SECOND} syncs in a second; retry after \\d+ seconds?`));
        assert.ok(Number(r.headers["retry-after"]) >= 1, `Retry-After is a number of seconds: ${r.headers["retry-after"]}`);
      }
      assert.deepEqual([...new Set(served.map((a) => `${a.status} ${a.broken ? "broken" : "whole"}`))].sort(), ["200 whole", "400 broken"]);
      assert.ok(refused.some((a) => a.broken), "a broken body over the limit is refused as the others, unread");
      // Only the syncs let through reached the store; each refusal is counted for the operator.
      const whole = served.filter((a) => !a.broken).length;
      assert.equal(await server.metric("vgrid_node_syncs_total"), syncsBefore + whole + 1, "the store heard only the syncs let through, and h2's");
      assert.equal(await server.metric("vgrid_node_syncs_limited_total"), refused.length);

      // The flooding node waits as told, then syncs as usual, and hears of the VM when it is on its host.
      await sleep(Number(refused.at(-1)!.headers["retry-after"]) * 1000);
      const again = await client.post<{ vms: Array<{ id: string }> }>(SYNC, NODE_TOKEN, syncBody("h1"));
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.vms.some((v) => v.id === deployed.body.id), deployed.body.host === "h1");
    });

    test("the rate-limited problem is explained where its type points", async () => {
      const res = await server.app.inject({ method: "GET", url: "/problems/rate-limited" });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Retry-After/);
    });
  });
}

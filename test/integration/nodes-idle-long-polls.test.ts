// 2,000 nodes waiting on their long-polls at once, each on its own socket, do not starve the API: a
// user lists, deploys and terminates meanwhile; the deploy wakes the one node whose host it went to,
// and no other; when the nodes hang up, the server keeps nothing of their waits. Real HTTP, on SQLite
// and on PostgreSQL.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import type { SyncResponse } from "../../src/core/protocol.js";
import { HttpClient, type HttpAnswer } from "../support/http.js";
import { eventually } from "../support/processes.js";
import { DIALECTS, KEY, startTestServer, syncBody, type TestServer } from "../support/server.js";
import { Api } from "../support/vgrid.js";

const HOSTS = 2000;
const SYNC = "/api/v1/nodes/sync";
const hostName = (i: number) => `n${String(i).padStart(4, "0")}`;
const tokenOf = (i: number) => `idle-long-poll-node-${i}-0123456789abcdef`;

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let url: string;
    let client: HttpClient;

    before(async () => {
      const hosts = Array.from({ length: HOSTS }, (_, i) => ({ name: hostName(i), maxVms: 1, memoryMiB: 1024, cpus: 1, token: tokenOf(i) }));
      server = await startTestServer({ hosts, hostnames: { count: 10 } }, dialect);
      url = await server.app.listen({ host: "127.0.0.1", port: 0 });
      // A socket for every node: an HTTP/1.1 request that waits holds its connection.
      client = new HttpClient(url, HOSTS + 10);
    });

    after(async () => {
      client.close();
      await server.close();
    });

    test("2,000 idle long-polls: users list, deploy and terminate; the deploy wakes its host's node only; hanging up releases every wait", async () => {
      // Each node comes online with a first sync, then long-polls, as nothing changes, for up to a minute.
      const first = await Promise.all(Array.from({ length: HOSTS }, (_, i) => client.post<SyncResponse>(SYNC, tokenOf(i), syncBody(hostName(i)))));
      assert.deepEqual([...new Set(first.map((r) => r.status))], [200], "every node is online");
      const hangUp = new AbortController();
      const answered: boolean[] = [];
      const polls = first.map((r, i) =>
        client.post<SyncResponse>(SYNC, tokenOf(i), syncBody(hostName(i), { version: r.body.version, waitSeconds: 60 }), hangUp.signal).then(
          (answer): HttpAnswer<SyncResponse> => {
            answered[i] = true;
            return answer;
          },
          (err: Error) => err,
        ),
      );
      await eventually("every long-poll to wait on the server", 60_000, async () => ((await server.metric("vgrid_node_long_polls")) === HOSTS ? true : undefined), 100);

      // A user, meanwhile.
      const alice = new Api(url, await server.tokenFor("alice"));
      const empty = await alice.call<{ items: Vm[] }>("GET", "/vms");
      assert.deepEqual([empty.status, empty.body.items], [200, []]);
      const vm = await alice.deploy({ image: "tiny", sshKeys: [KEY] });
      const placed = Number(vm.host.slice(1));
      assert.equal(vm.host, hostName(placed));
      const woken = await polls[placed]!;
      assert.ok(!(woken instanceof Error), `the long-poll of ${vm.host} is answered: ${woken instanceof Error ? woken.message : ""}`);
      assert.equal(woken.status, 200);
      assert.deepEqual(woken.body.vms.map((v) => v.id), [vm.id], "its answer carries the VM");
      const ended = await alice.call<Vm>("DELETE", `/vms/${vm.id}`);
      assert.deepEqual([ended.status, ended.body.state], [202, "terminating"]);
      const listed = await alice.call<{ items: Vm[] }>("GET", "/vms");
      assert.deepEqual(listed.body.items.map((v) => [v.id, v.state]), [[vm.id, "terminating"]]);

      // Every other node still waits: none was answered, the server holds all their waits.
      assert.deepEqual(answered.flatMap((yes, i) => (yes ? [hostName(i)] : [])), [vm.host], "only the VM's host was woken");
      assert.equal(await server.metric("vgrid_node_long_polls"), HOSTS - 1);

      // The nodes hang up; the server lets go of each wait, once.
      hangUp.abort();
      const left = await Promise.all(polls.filter((_, i) => i !== placed));
      assert.ok(left.every((r) => r instanceof Error), "the others were never answered");
      await eventually("the server to release every wait", 30_000, async () => ((await server.metric("vgrid_node_long_polls")) <= 0 ? true : undefined), 100);
      assert.equal(await server.metric("vgrid_node_long_polls"), 0, "every wait released exactly once: none left, none twice");
    });
  });
}

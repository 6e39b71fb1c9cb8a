// Bad input through the real HTTP stack, on SQLite and on PostgreSQL: every error is problem+json that
// names the problem, and nothing is half-created (no VM row, no hostname taken).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DIALECTS, KEY, NODE_TOKEN, startTestServer, type TestServer } from "../support/server.js";

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

interface Row {
  why: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  token?: () => string;
  body?: unknown;
  raw?: { payload: string; contentType: string };
  status: number;
  slug: string;
  words: string[];
}

const rows: Row[] = [
  { why: "unknown image", method: "POST", url: "/api/v1/vms", body: { image: "slc9", sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["'slc9'", "known images: tiny"] },
  { why: "image name crafted for QEMU arguments", method: "POST", url: "/api/v1/vms", body: { image: "tiny,file=/etc/passwd", sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["not in the catalog"] },
  { why: "image name crafted as a path", method: "POST", url: "/api/v1/vms", body: { image: "../../etc/passwd", sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["not in the catalog"] },
  { why: "memory beyond the image", method: "POST", url: "/api/v1/vms", body: { image: "tiny", memoryMiB: 4096, sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["memoryMiB 4096", "128 to 2048"] },
  { why: "memory below the image", method: "POST", url: "/api/v1/vms", body: { image: "tiny", memoryMiB: 64, sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["memoryMiB 64"] },
  { why: "cpus beyond the image", method: "POST", url: "/api/v1/vms", body: { image: "tiny", cpus: 16, sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["cpus 16", "at most 2"] },
  { why: "a number given as a string", method: "POST", url: "/api/v1/vms", body: { image: "tiny", memoryMiB: "512", sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["memoryMiB", "integer"] },
  { why: "an unknown field", method: "POST", url: "/api/v1/vms", body: { image: "tiny", disk: "/etc/shadow", sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["unknown field 'disk'"] },
  { why: "hours beyond the policy", method: "POST", url: "/api/v1/vms", body: { image: "tiny", hours: 100, sshKeys: [KEY] }, status: 400, slug: "invalid", words: ["hours 100", "at most 48"] },
  { why: "no ssh key at all", method: "POST", url: "/api/v1/vms", body: { image: "tiny" }, status: 400, slug: "invalid", words: ["no ssh key", "/me/ssh-keys"] },
  { why: "a malformed ssh key at deploy", method: "POST", url: "/api/v1/vms", body: { image: "tiny", sshKeys: ["ssh-ed25519 AAAAbroken"] }, status: 400, slug: "invalid", words: ["sshKeys[0]", "malformed"] },
  { why: "bad JSON", method: "POST", url: "/api/v1/vms", raw: { payload: '{"image": "tiny",', contentType: "application/json" }, status: 400, slug: "invalid", words: ["not valid JSON"] },
  { why: "an empty body", method: "POST", url: "/api/v1/vms", raw: { payload: "", contentType: "application/json" }, status: 400, slug: "invalid", words: ["empty"] },
  { why: "a wrong content type", method: "POST", url: "/api/v1/vms", raw: { payload: "image=tiny", contentType: "application/x-www-form-urlencoded" }, status: 415, slug: "unsupported-media-type", words: ["application/json"] },
  { why: "a malformed ssh key", method: "PUT", url: "/api/v1/me/ssh-keys", body: { keys: [KEY, "ssh-rsa nope"] }, status: 400, slug: "invalid", words: ["keys[1] ('ssh-rsa nope')"] },
  { why: "a key that injects a second line", method: "PUT", url: "/api/v1/me/ssh-keys", body: { keys: [`${KEY}\nssh-ed25519 AAAAevil`] }, status: 400, slug: "invalid", words: ["line break"] },
  { why: "a key that injects YAML", method: "PUT", url: "/api/v1/me/ssh-keys", body: { keys: ['ssh-ed25519 "]\nruncmd: [reboot]'] }, status: 400, slug: "invalid", words: ["keys[0]"] },
  { why: "an unknown VM id", method: "GET", url: "/api/v1/vms/7f3c0000-0000-4000-8000-000000000000", status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "a VM id crafted as a path", method: "GET", url: "/api/v1/vms/..%2F..%2Fetc%2Fpasswd", status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "another user's VM", method: "GET", url: "/api/v1/vms/BOB", status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "another user's VM's boot log", method: "GET", url: "/api/v1/vms/BOB/log", status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "the boot log of no VM", method: "GET", url: "/api/v1/vms/7f3c0000-0000-4000-8000-000000000000/log", status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "terminating another user's VM", method: "DELETE", url: "/api/v1/vms/BOB", status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "extending another user's VM", method: "POST", url: "/api/v1/vms/BOB/extend", body: { hours: 1 }, status: 404, slug: "not-found", words: ["no VM with id"] },
  { why: "no token", method: "GET", url: "/api/v1/vms", token: () => "", status: 401, slug: "unauthorized", words: ["Authorization: Bearer"] },
  { why: "an unknown token", method: "GET", url: "/api/v1/vms", token: () => "vgt_forged", status: 401, slug: "unauthorized", words: ["unknown"] },
  { why: "hosts as a user", method: "GET", url: "/api/v1/hosts", status: 403, slug: "forbidden", words: ["administrators"] },
  { why: "an unknown route", method: "GET", url: "/api/v1/nothing-here", status: 404, slug: "not-found", words: ["/api/v1/nothing-here", "/api/docs"] },
  { why: "a path part longer than any id", method: "GET", url: `/api/v1/vms/${"a".repeat(5000)}`, status: 414, slug: "uri-too-long", words: ["longer than any id"] },
  { why: "a malformed %-escape in the path", method: "GET", url: "/api/v1/vms/%E0%A4%A", status: 400, slug: "invalid", words: ["not a valid URL"] },
  { why: "a problem type that is an object's property", method: "GET", url: "/problems/constructor", status: 404, slug: "not-found", words: ["no problem type 'constructor'"] },
  { why: "a page longer than the most", method: "GET", url: "/api/v1/vms?limit=6000", status: 400, slug: "invalid", words: ["limit 6000 is not between 1 and 5000"] },
  { why: "a cursor not made by the server", method: "GET", url: "/api/v1/vms?cursor=bm90LWEtY3Vyc29y", status: 400, slug: "invalid", words: ["cursor is not one this server gave"] },
  { why: "a limit that is not a number", method: "GET", url: "/api/v1/vms?limit=ten", status: 400, slug: "invalid", words: ["limit"] },
  { why: "a long-poll longer than the server holds one", method: "POST", url: "/api/v1/nodes/sync", token: () => NODE_TOKEN, body: { node: "h1", version: 0, waitSeconds: 3600, sshHost: "x", facts: { memoryMiB: 1, cpus: 1 }, reports: [] }, status: 400, slug: "invalid", words: ["waitSeconds", "60"] },
  { why: "a node sync with a user's token", method: "POST", url: "/api/v1/nodes/sync", body: { node: "h1", version: 0, waitSeconds: 0, sshHost: "x", facts: { memoryMiB: 1, cpus: 1 }, reports: [] }, status: 401, slug: "unauthorized", words: ["no host's", "[[hosts]]"] },
];

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let alice: string;
    let bob: string;
    let admin: string;
    let bobsVm: string;

    before(async () => {
      server = await startTestServer({}, dialect);
      await server.bringNodeOnline();
      alice = await server.tokenFor("alice");
      bob = await server.tokenFor("bob");
      admin = await server.tokenFor("root-admin", true);
      const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: auth(bob), payload: { image: "tiny", sshKeys: [KEY] } });
      assert.equal(res.statusCode, 201, res.body);
      bobsVm = res.json<{ id: string }>().id;
    });

    after(async () => server.close());

    test("bad input gets a problem+json that names the problem, and changes nothing", async () => {
      for (const row of rows) {
        const token = row.token ? row.token() : alice;
        const res = await server.app.inject({
          method: row.method,
          url: row.url.replace("BOB", bobsVm),
          headers: {
            ...(token ? auth(token) : {}),
            ...(row.raw ? { "content-type": row.raw.contentType } : {}),
          },
          ...(row.raw ? { payload: row.raw.payload } : row.body === undefined ? {} : { payload: row.body as object }),
        });
        assert.equal(res.statusCode, row.status, `${row.why}: ${res.body}`);
        assert.match(res.headers["content-type"] as string, /^application\/problem\+json/, row.why);
        const problem = res.json<{ type: string; title: string; status: number; detail: string }>();
        assert.equal(problem.type, `/problems/${row.slug}`, row.why);
        assert.equal(problem.status, row.status, row.why);
        assert.ok(problem.title.length > 0, row.why);
        for (const w of row.words) assert.ok(problem.detail.includes(w), `${row.why}: '${problem.detail}' should mention '${w}'`);
      }
      const vms = await server.ctx.db.selectFrom("vms").select("id").execute();
      assert.deepEqual(vms.map((v) => v.id), [bobsVm], "no VM was half-created by a bad request");
      const taken = await server.ctx.db.selectFrom("hostnames").select("name").where("vm_id", "is not", null).execute();
      assert.equal(taken.length, 1, "only bob's VM holds a hostname");
      const alicesKeys = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: auth(alice) });
      assert.deepEqual(alicesKeys.json<{ sshKeys: string[] }>().sshKeys, [], "a rejected key list saves nothing");
    });

    test("an admin sees and may terminate another user's VM", async () => {
      const seen = await server.app.inject({ method: "GET", url: `/api/v1/vms/${bobsVm}`, headers: auth(admin) });
      assert.equal(seen.statusCode, 200);
      const all = await server.app.inject({ method: "GET", url: "/api/v1/vms?all=true", headers: auth(admin) });
      assert.ok(all.json<{ items: Array<{ id: string }> }>().items.some((v) => v.id === bobsVm));
      const mine = await server.app.inject({ method: "GET", url: "/api/v1/vms?all=true", headers: auth(alice) });
      assert.deepEqual(mine.json<{ items: unknown[] }>().items, [], "all=true shows a user only their own VMs");
      const hosts = await server.app.inject({ method: "GET", url: "/api/v1/hosts", headers: auth(admin) });
      assert.deepEqual(hosts.json<{ items: Array<{ name: string; vms: number; online: boolean }> }>().items.map((h) => [h.name, h.vms, h.online]), [["h1", 1, true]]);
      const ended = await server.app.inject({ method: "DELETE", url: `/api/v1/vms/${bobsVm}`, headers: auth(admin), payload: { reason: "the test is over" } });
      assert.equal(ended.statusCode, 202);
      assert.equal(ended.json<{ state: string }>().state, "terminating");
    });

    test("the OpenAPI document describes the API", async () => {
      const res = await server.app.inject({ method: "GET", url: "/api/docs/json" });
      assert.equal(res.statusCode, 200);
      const doc = res.json<{ paths: Record<string, unknown> }>();
      for (const path of ["/api/v1/vms", "/api/v1/vms/{id}", "/api/v1/vms/{id}/log", "/api/v1/me", "/api/v1/me/ssh-keys", "/api/v1/images", "/api/v1/hosts"]) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
    });

    test("the OpenAPI page is served, and readiness follows the node", async () => {
      const page = await server.app.inject({ method: "GET", url: "/api/docs" });
      assert.ok(page.statusCode === 200 || page.statusCode === 302, `docs page: ${page.statusCode}`);
      const html = page.statusCode === 302 ? await server.app.inject({ method: "GET", url: page.headers.location as string }) : page;
      assert.match(html.headers["content-type"] as string, /text\/html/);

      const fresh = await startTestServer({}, dialect);
      try {
        assert.equal((await fresh.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
        const before = await fresh.app.inject({ method: "GET", url: "/readyz" });
        assert.equal(before.statusCode, 503, "not ready while no node is online");
        const deploy = await fresh.app.inject({ method: "POST", url: "/api/v1/vms", headers: auth(await fresh.tokenFor("dave")), payload: { image: "tiny", sshKeys: [KEY] } });
        assert.equal(deploy.statusCode, 503);
        assert.equal(deploy.json<{ type: string }>().type, "/problems/no-node");
        await fresh.bringNodeOnline();
        assert.equal((await fresh.app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
      } finally {
        await fresh.close();
      }
    });

    test("tokens are stored as hashes, never as the secret", async () => {
      const secret = await server.tokenFor("erin");
      const rows = await server.ctx.db.selectFrom("tokens").selectAll().execute();
      assert.ok(rows.length > 0);
      for (const row of rows) assert.ok(!Object.values(row).some((v) => typeof v === "string" && v.includes(secret.slice(4, 20))));
      const created = await server.app.inject({ method: "POST", url: "/api/v1/tokens", headers: auth(secret), payload: { name: "ci" } });
      assert.equal(created.statusCode, 201);
      const shown = created.json<{ id: string; token: string }>();
      const listed = await server.app.inject({ method: "GET", url: "/api/v1/tokens", headers: auth(secret) });
      assert.ok(!listed.body.includes(shown.token), "a token is shown once, at creation");
      const revoked = await server.app.inject({ method: "DELETE", url: `/api/v1/tokens/${shown.id}`, headers: auth(secret) });
      assert.equal(revoked.statusCode, 204);
      const after = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: auth(shown.token) });
      assert.equal(after.statusCode, 401, "a revoked token no longer opens the API");
    });

    test("a size no host of the pool could ever hold is bad input, not a conflict", async () => {
      const small = await startTestServer({ hosts: [{ name: "h1", maxVms: 5, memoryMiB: 1024, cpus: 1, token: "node-token-for-tests-0123456789abcdef" }] }, dialect);
      try {
        await small.bringNodeOnline();
        const token = await small.tokenFor("frank");
        const rows: Array<[Record<string, unknown>, string]> = [
          [{ memoryMiB: 2048 }, "2048 MiB"],
          [{ cpus: 2 }, "2 cpus"],
        ];
        for (const [size, words] of rows) {
          const res = await small.app.inject({ method: "POST", url: "/api/v1/vms", headers: auth(token), payload: { image: "tiny", sshKeys: [KEY], ...size } });
          assert.equal(res.statusCode, 400, res.body);
          const p = res.json<{ detail: string }>();
          assert.ok(p.detail.includes("could ever fit") && p.detail.includes(words), p.detail);
        }
        assert.equal((await small.ctx.db.selectFrom("vms").select("id").execute()).length, 0);
      } finally {
        await small.close();
      }
    });

    test("lists come in pages: next is there while more remain, and following it gives every item once", async () => {
      const carol = await server.tokenFor("carol");
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: auth(carol), payload: { image: "tiny", sshKeys: [KEY] } });
        assert.equal(res.statusCode, 201, res.body);
        made.push(res.json<{ id: string }>().id);
      }
      const seen: string[] = [];
      let cursor = "";
      let pages = 0;
      for (;;) {
        const res = await server.app.inject({ method: "GET", url: `/api/v1/vms?limit=2${cursor}`, headers: auth(carol) });
        const page = res.json<{ items: Array<{ id: string }>; next?: string }>();
        seen.push(...page.items.map((v) => v.id));
        pages++;
        if (page.next === undefined) break;
        cursor = `&cursor=${page.next}`;
      }
      assert.deepEqual(seen, made, "every VM once, oldest first");
      assert.equal(pages, 2);
      const hosts = await server.app.inject({ method: "GET", url: "/api/v1/hosts?limit=1", headers: auth(admin) });
      assert.equal(hosts.json<{ items: unknown[]; next?: string }>().next, undefined, "one host: no next");
    });

    test("metrics count VMs by state and image, deploys and their failures, nodes and syncs; never a name", async () => {
      const res = await server.app.inject({ method: "GET", url: "/metrics" });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /^vgrid_vms\{state="terminating",image="tiny"\} 1$/m);
      assert.match(res.body, /^vgrid_nodes_online 1$/m);
      assert.match(res.body, /^vgrid_deploy_duration_seconds_count [1-9]\d*$/m);
      assert.match(res.body, /^vgrid_node_syncs_total [1-9]/m);
      assert.match(res.body, /^vgrid_store_query_duration_seconds_count [1-9]\d*$/m);
      for (const secret of ["alice", "bob", bobsVm, "vm-001"]) assert.ok(!res.body.includes(secret), `no label holds '${secret}'`);
    });

    test("metrics answer loopback and admins' tokens, and nobody else", async () => {
      const far = { remoteAddress: "10.9.8.7" };
      const refused = await server.app.inject({ method: "GET", url: "/metrics", ...far });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.json<{ detail: string }>().detail, /\[metrics\] allow/);
      assert.equal((await server.app.inject({ method: "GET", url: "/metrics", headers: auth(alice), ...far })).statusCode, 403);
      assert.equal((await server.app.inject({ method: "GET", url: "/metrics", headers: auth(admin), ...far })).statusCode, 200);
    });
  });
}

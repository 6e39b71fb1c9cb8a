// Who may do what, over every route of the API, on SQLite and on PostgreSQL: no login, a user, an
// administrator. A user sees and touches only their own VMs (another's is a 404); an admin sees and
// terminates every VM, sees the hosts and the audit log, and may set any expiry. The table must name
// every route the server has: a new route without a row fails this test.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DIALECTS, KEY, NODE_TOKEN, startTestServer, type TestServer } from "../support/server.js";

type Who = "none" | "user" | "admin";
interface Row {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The route as Fastify names it; `url` fills in its parameters. */
  route: string;
  url: (ids: Ids) => string;
  body?: (ids: Ids) => unknown;
  expect: Record<Who, number>;
}
interface Ids {
  /** A VM of another user (bob). */
  other: string;
  /** The caller's own VM (alice's, for the user). */
  own: string;
}

const rows: Row[] = [
  { method: "GET", route: "/api/v1/me", url: () => "/api/v1/me", expect: { none: 401, user: 200, admin: 200 } },
  { method: "PUT", route: "/api/v1/me/ssh-keys", url: () => "/api/v1/me/ssh-keys", body: () => ({ keys: [KEY] }), expect: { none: 401, user: 200, admin: 200 } },
  { method: "POST", route: "/api/v1/tokens", url: () => "/api/v1/tokens", body: () => ({ name: "t" }), expect: { none: 401, user: 201, admin: 201 } },
  { method: "GET", route: "/api/v1/tokens", url: () => "/api/v1/tokens", expect: { none: 401, user: 200, admin: 200 } },
  { method: "DELETE", route: "/api/v1/tokens/:id", url: () => "/api/v1/tokens/00000000-0000-4000-8000-000000000000", expect: { none: 401, user: 404, admin: 404 } },
  { method: "GET", route: "/api/v1/images", url: () => "/api/v1/images", expect: { none: 401, user: 200, admin: 200 } },
  { method: "GET", route: "/api/v1/hosts", url: () => "/api/v1/hosts", expect: { none: 401, user: 403, admin: 200 } },
  { method: "GET", route: "/api/v1/hostnames", url: () => "/api/v1/hostnames", expect: { none: 401, user: 403, admin: 200 } },
  { method: "GET", route: "/api/v1/audit", url: () => "/api/v1/audit", expect: { none: 401, user: 403, admin: 200 } },
  { method: "GET", route: "/api/v1/outbox", url: () => "/api/v1/outbox", expect: { none: 401, user: 403, admin: 200 } },
  { method: "POST", route: "/api/v1/vms", url: () => "/api/v1/vms", body: () => ({ image: "tiny", sshKeys: [KEY] }), expect: { none: 401, user: 201, admin: 201 } },
  { method: "GET", route: "/api/v1/vms", url: () => "/api/v1/vms?all=true", expect: { none: 401, user: 200, admin: 200 } },
  { method: "GET", route: "/api/v1/vms/:id", url: (i) => `/api/v1/vms/${i.other}`, expect: { none: 401, user: 404, admin: 200 } },
  { method: "GET", route: "/api/v1/vms/:id/history", url: (i) => `/api/v1/vms/${i.other}/history`, expect: { none: 401, user: 404, admin: 200 } },
  { method: "GET", route: "/api/v1/vms/:id/log", url: (i) => `/api/v1/vms/${i.other}/log`, expect: { none: 401, user: 404, admin: 200 } },
  { method: "POST", route: "/api/v1/vms/:id/extend", url: (i) => `/api/v1/vms/${i.other}/extend`, body: () => ({ hours: 1 }), expect: { none: 401, user: 404, admin: 200 } },
  { method: "PATCH", route: "/api/v1/vms/:id", url: (i) => `/api/v1/vms/${i.other}`, body: () => ({ expiresAt: "2030-01-01T00:00:00Z" }), expect: { none: 401, user: 404, admin: 200 } },
  // Power, in this order on bob's pending VM: an admin stops it, starts it again; a reboot of a VM still booting is a 409.
  { method: "POST", route: "/api/v1/vms/:id/stop", url: (i) => `/api/v1/vms/${i.other}/stop`, expect: { none: 401, user: 404, admin: 202 } },
  { method: "POST", route: "/api/v1/vms/:id/start", url: (i) => `/api/v1/vms/${i.other}/start`, expect: { none: 401, user: 404, admin: 202 } },
  { method: "POST", route: "/api/v1/vms/:id/reboot", url: (i) => `/api/v1/vms/${i.other}/reboot`, expect: { none: 401, user: 404, admin: 409 } },
  { method: "DELETE", route: "/api/v1/vms/:id", url: (i) => `/api/v1/vms/${i.other}`, body: () => ({ reason: "tested" }), expect: { none: 401, user: 404, admin: 202 } },
  // A user's or an admin's token is not a node's.
  { method: "POST", route: "/api/v1/nodes/sync", url: () => "/api/v1/nodes/sync", body: () => ({ node: "h1", version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 1, cpus: 1 }, reports: [] }), expect: { none: 401, user: 401, admin: 401 } },
  { method: "POST", route: "/api/v1/auth/login", url: () => "/api/v1/auth/login", body: () => ({ username: "alice", password: "x" }), expect: { none: 401, user: 401, admin: 401 } },
  { method: "POST", route: "/api/v1/auth/logout", url: () => "/api/v1/auth/logout", expect: { none: 204, user: 204, admin: 204 } },
];
/** Routes whose answer is a stream (tested in events.test.ts): only refused without a login here. */
const STREAMS = new Set(["GET /api/v1/events"]);

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    const tokens: Record<Who, string | undefined> = { none: undefined, user: undefined, admin: undefined };
    const deploy = async (token: string) => {
      const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${token}` }, payload: { image: "tiny", sshKeys: [KEY] } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ id: string }>().id;
    };

    before(async () => {
      server = await startTestServer({ hosts: [{ name: "h1", maxVms: 50, memoryMiB: 1 << 16, cpus: 64, token: NODE_TOKEN }], hostnames: { count: 60 } }, dialect);
      await server.bringNodeOnline();
      tokens.user = await server.tokenFor("alice");
      tokens.admin = await server.tokenFor("root-admin");
    });
    after(() => server.close());

    test("the table names every route of the API", () => {
      const listed = new Set([...rows.map((r) => `${r.method} ${r.route}`), ...STREAMS]);
      // Every route of the API is in the OpenAPI document (which the docs page serves).
      const paths = (server.app.swagger() as { paths: Record<string, Record<string, unknown>> }).paths;
      const routes = Object.entries(paths)
        .filter(([path]) => path.startsWith("/api/v1/"))
        .flatMap(([path, verbs]) => Object.keys(verbs).filter((v) => v !== "head").map((verb) => `${verb.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`));
      assert.ok(routes.length > 10, JSON.stringify(Object.keys(paths)));
      for (const route of routes) assert.ok(listed.has(route), `no row for ${route}`);
    });

    for (const who of ["none", "user", "admin"] as const) {
      test(`as ${who === "none" ? "no login" : `a${who === "admin" ? "n" : ""} ${who}`}: every route answers as the table says`, async () => {
        const bobs = await deploy(await server.tokenFor("bob"));
        const ids: Ids = { other: bobs, own: await deploy(tokens.user!) };
        for (const row of rows) {
          const token = tokens[who];
          const res = await server.app.inject({
            method: row.method,
            url: row.url(ids),
            headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
            ...(row.body ? { payload: row.body(ids) as object } : {}),
          });
          assert.equal(res.statusCode, row.expect[who], `${row.method} ${row.route} as ${who}: ${res.body}`);
          if (res.statusCode >= 400) assert.match(res.headers["content-type"] ?? "", /application\/problem\+json/);
        }
        for (const stream of STREAMS) {
          if (who !== "none") continue;
          const [method, url] = stream.split(" ") as ["GET", string];
          assert.equal((await server.app.inject({ method, url })).statusCode, 401, stream);
        }
        // Bob's VM: what the user was refused left it as it was; the admin terminated it.
        const after = await server.app.inject({ method: "GET", url: `/api/v1/vms/${bobs}`, headers: { authorization: `Bearer ${tokens.admin!}` } });
        const vm = after.json<{ state: string; expiresAt: string }>();
        if (who === "admin") assert.equal(vm.state, "terminating");
        else {
          assert.equal(vm.state, "pending");
          assert.notEqual(vm.expiresAt, "2030-01-01T00:00:00.000Z");
        }
      });
    }

    test("a user's own VM: they may extend it, not set its expiry beyond the policy", async () => {
      const own = await deploy(tokens.user!);
      const auth = { authorization: `Bearer ${tokens.user!}` };
      assert.equal((await server.app.inject({ method: "POST", url: `/api/v1/vms/${own}/extend`, headers: auth, payload: { hours: 1 } })).statusCode, 200);
      const patch = await server.app.inject({ method: "PATCH", url: `/api/v1/vms/${own}`, headers: auth, payload: { expiresAt: null } });
      assert.equal(patch.statusCode, 403);
      assert.match(patch.json<{ detail: string }>().detail, /only administrators/);
      const admin = await server.app.inject({ method: "PATCH", url: `/api/v1/vms/${own}`, headers: { authorization: `Bearer ${tokens.admin!}` }, payload: { expiresAt: null } });
      assert.equal(admin.statusCode, 200, admin.body);
      assert.equal(admin.json<{ expiresAt: string | null }>().expiresAt, null, "an admin may take the expiry away");
      const audit = await server.app.inject({ method: "GET", url: `/api/v1/audit?action=vm.set-expiry&target=${own}`, headers: { authorization: `Bearer ${tokens.admin!}` } });
      assert.deepEqual(audit.json<{ items: Array<{ actor: string }> }>().items.map((e) => e.actor), ["root-admin"]);
    });
  });
}

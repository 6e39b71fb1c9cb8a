// API tokens through the API: a token expires after 90 days unless asked otherwise, its secret is
// never kept by a cache, a user holds 100 at most, and the list comes in pages. On SQLite and PostgreSQL.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CreatedToken, Token } from "../../src/core/api.js";
import { MAX_TOKENS_PER_USER } from "../../src/server/users/service.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";

const HOUR = 3600_000;

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({}, dialect);
    });
    after(async () => server.close());

    const call = (token: string, method: "GET" | "POST" | "DELETE", url: string, payload?: object) =>
      server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

    test("an Authorization header that is neither a bearer token nor Basic is a 401 saying so, whatever else the request carries", async () => {
      const alice = await server.tokenFor("alice");
      for (const authorization of ["Bearer", "Bearer a b", "Token abc", `bearer${alice}`, "Basic !!!"]) {
        const res = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization } });
        assert.equal(res.statusCode, 401, authorization);
        assert.match(res.json<{ detail: string }>().detail, /neither 'Bearer TOKEN' nor HTTP Basic/, authorization);
      }
      const good = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: `bearer ${alice}` } });
      assert.equal(good.statusCode, 200, "the scheme's case does not matter");
    });

    test("a new token expires after 90 days unless asked otherwise, and its answer is never cached", async () => {
      const alice = await server.tokenFor("alice");
      const rows: Array<[object, number | null]> = [
        [{ name: "default" }, 2160 * HOUR],
        [{ name: "a day", expiresInHours: 24 }, 24 * HOUR],
        [{ name: "forever", expiresInHours: 0 }, null],
      ];
      for (const [body, lasts] of rows) {
        const res = await call(alice, "POST", "/tokens", body);
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers["cache-control"], "no-store", "the answer with the secret is no cache's to keep");
        const t = res.json<CreatedToken>();
        assert.equal(t.expiresAt === null ? null : Date.parse(t.expiresAt) - Date.parse(t.createdAt), lasts, JSON.stringify(body));
      }
      for (const [expiresInHours, words] of [[-1, ">= 0"], [100_000, "<= 87600"], ["24", "number"]] as const) {
        const res = await call(alice, "POST", "/tokens", { name: "bad", expiresInHours });
        assert.equal(res.statusCode, 400, `${expiresInHours}: ${res.body}`);
        assert.match(res.json<{ detail: string }>().detail, new RegExp(`expiresInHours.*${words}`));
      }
    });

    test(`a user holds ${MAX_TOKENS_PER_USER} tokens at most, and lists them in pages`, async () => {
      const bob = await server.tokenFor("bob"); // his first
      for (let i = 1; i < MAX_TOKENS_PER_USER; i++) assert.equal((await call(bob, "POST", "/tokens", { name: `t${i}` })).statusCode, 201);
      const refused = await call(bob, "POST", "/tokens", { name: "one more" });
      assert.equal(refused.statusCode, 409);
      const problem = refused.json<{ type: string; detail: string }>();
      assert.equal(problem.type, "/problems/too-many-tokens");
      assert.match(problem.detail, new RegExp(`${MAX_TOKENS_PER_USER} API tokens.*revoke one`));

      const seen: Token[] = [];
      let next: string | undefined;
      do {
        const page = await call(bob, "GET", `/tokens?limit=30${next ? `&cursor=${next}` : ""}`);
        assert.equal(page.statusCode, 200, page.body);
        const body = page.json<{ items: Token[]; next?: string }>();
        assert.ok(body.items.length <= 30);
        seen.push(...body.items);
        next = body.next;
      } while (next !== undefined);
      assert.equal(seen.length, MAX_TOKENS_PER_USER);
      assert.equal(new Set(seen.map((t) => t.id)).size, MAX_TOKENS_PER_USER, "each token once");
      assert.equal((await call(bob, "GET", "/tokens?limit=6000")).statusCode, 400);

      assert.equal((await call(bob, "DELETE", `/tokens/${seen.at(-1)!.id}`)).statusCode, 204);
      assert.equal((await call(bob, "POST", "/tokens", { name: "in its place" })).statusCode, 201, "a revoked token frees its place");
    });
  });
}

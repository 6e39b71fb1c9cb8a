// An admin searching the audit log, on SQLite and on PostgreSQL: `q` finds text anywhere in the actor,
// action, target or detail (A-Z in either case), with LIKE's wildcards taken as written, together with
// the exact filters and the pages; both stores find the same rows.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditEntry, Problem } from "../../src/core/api.js";
import { insertAudit } from "../../src/server/store/audit.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";

/** The log, oldest first: [actor, action, target, detail]. */
const LOG: Array<[string, string, string | null, string | null]> = [
  ["alice", "vm.deploy", "vm-id-1", null],
  ["Bob_Smith", "auth.login", null, "via htpasswd"],
  ["root-admin", "vm.terminate", "vm-id-2", "50% of the lab is retired"],
  ["carol", "vm.terminate", "vm-id-3", "5000 hours_left"],
  ["dave", "token.create", "t1", "Ünïcode Détail"],
  ["erin", "vm.terminate", "vm-id-4", "a_b as written"],
  ["frank", "vm.extend", "vm-id-5", "urgent! now"],
];

/** What each search finds, newest first: the actors of the rows. */
const searches: Array<{ why: string; query: string; actors: string[] }> = [
  { why: "an actor, in another case", query: "q=BOB", actors: ["Bob_Smith"] },
  { why: "an action", query: "q=LOGIN", actors: ["Bob_Smith"] },
  { why: "a target", query: "q=vm-id-2", actors: ["root-admin"] },
  { why: "a detail", query: "q=HTPasswd", actors: ["Bob_Smith"] },
  { why: "% as written, not any text", query: `q=${encodeURIComponent("50%")}`, actors: ["root-admin"] },
  { why: "_ as written, not any character", query: "q=_", actors: ["erin", "carol", "Bob_Smith"] },
  { why: "a_b as written", query: "q=a_b", actors: ["erin"] },
  { why: "the pattern's escape as written", query: `q=${encodeURIComponent("!")}`, actors: ["frank"] },
  { why: "A-Z folded around other letters", query: `q=${encodeURIComponent("détail")}`, actors: ["dave"] },
  { why: "only A-Z are folded, on both stores", query: `q=${encodeURIComponent("DÉTAIL")}`, actors: [] },
  { why: "with an exact filter", query: "q=vm-id&action=vm.terminate", actors: ["erin", "carol", "root-admin"] },
  { why: "with an exact filter that excludes it", query: "q=BOB&actor=alice", actors: [] },
  { why: "an empty search is none", query: "q=", actors: [...LOG].reverse().map(([actor]) => actor) },
];

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let admin: string;
    before(async () => {
      server = await startTestServer({}, dialect);
      admin = await server.tokenFor("root-admin");
      const start = Date.parse("2026-12-01T00:00:00Z");
      for (const [i, [actor, action, target, detail]] of LOG.entries()) {
        await insertAudit(server.ctx.db, { at: new Date(start + i * 60_000), actor, action, target, address: "192.0.2.1", detail });
      }
    });
    after(async () => server.close());

    const audit = async (query: string) => {
      const res = await server.call(admin, "GET", `/audit?${query}`);
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      return res.json<{ items: AuditEntry[]; next?: string }>();
    };

    test("q finds text anywhere in actor, action, target or detail, wildcards as written", async () => {
      for (const row of searches) assert.deepEqual((await audit(row.query)).items.map((e) => e.actor), row.actors, `${row.why} (${row.query})`);
    });

    test("a search comes in pages, following next with the same q", async () => {
      const seen: string[] = [];
      let next: string | undefined;
      do {
        const page = await audit(`q=VM.&limit=2${next ? `&cursor=${next}` : ""}`);
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((e) => e.actor));
        next = page.next;
      } while (next !== undefined);
      assert.deepEqual(seen, ["frank", "erin", "carol", "root-admin", "alice"]);
    });

    test("a search longer than 200 characters is a 400 naming q", async () => {
      const res = await server.call(admin, "GET", `/audit?q=${"x".repeat(201)}`);
      assert.equal(res.statusCode, 400);
      const problem = res.json<Problem>();
      assert.equal(problem.field, "querystring.q");
      assert.match(problem.detail, /q must NOT have more than 200 characters/);
      assert.equal((await server.call(await server.tokenFor("alice"), "GET", "/audit?q=alice")).statusCode, 403, "for admins only");
    });
  });
}

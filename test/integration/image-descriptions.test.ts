// What a user reads of the catalog's images, on SQLite and on PostgreSQL: each image's description from
// its catalog entry (server.toml or a sidecar), null when it has none, kept in the store's image rows
// and changed there when server.toml changes it.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Image } from "../../src/core/api.js";
import { buildServerConfig } from "../../src/server/config.js";
import { syncCatalog } from "../../src/server/store/catalog.js";
import { DIALECTS, TINY_IMAGE, startTestServer, type TestServer } from "../support/server.js";

const DESCRIBED = { ...TINY_IMAGE, description: "A busybox guest with dropbear: ssh in within seconds" };
const PLAIN = { ...TINY_IMAGE, tag: "plain", name: "Plain" };

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    let alice: string;
    before(async () => {
      server = await startTestServer({ images: [DESCRIBED, PLAIN] }, dialect);
      alice = await server.tokenFor("alice");
    });
    after(async () => server.close());

    const catalog = async () => {
      const res = await server.call(alice, "GET", "/images");
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ items: Image[] }>().items.map((i) => [i.tag, i.description]);
    };

    test("GET /images gives each image's description, null for one without", async () => {
      assert.deepEqual(await catalog(), [["plain", null], ["tiny", DESCRIBED.description]]);
    });

    test("a description changed in server.toml is the catalog's at the next start", async () => {
      const config = buildServerConfig({ images: [{ ...DESCRIBED, description: null }, { ...PLAIN, description: "now described" }] }, { file: "server.toml", dir: "/" });
      await syncCatalog(server.ctx.db, config, new Date().toISOString());
      assert.deepEqual(await catalog(), [["plain", "now described"], ["tiny", null]]);
      const rows = await server.ctx.db.selectFrom("images").select(["tag", "description"]).orderBy("tag").execute();
      assert.deepEqual(rows.map((r) => [r.tag, r.description]), [["plain", "now described"], ["tiny", null]]);
    });
  });
}

// The lab's key repository (the seed's copyuserkey fallback), served over HTTPS by the test with an
// openssl-made certificate, on SQLite and on PostgreSQL: a user with no key of their own deploys with
// the repository's keys; a repository vgrid cannot trust, or that answers too much, is a 503 problem
// that says what to do, and nothing is deployed.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AddressInfo } from "node:net";
import { makeTestCertificates, type TestCertificates } from "../support/test-ca.js";
import { DIALECTS, KEY, startTestServer, type TestServer } from "../support/server.js";

const OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl repo";

describe("the key repository", () => {
  let dir: string;
  let certs: TestCertificates;
  let repo: Server;
  let base: string;
  const asked: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vgrid-keys-"));
    certs = await makeTestCertificates(dir, "keys CA");
    repo = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
      asked.push(req.url ?? "");
      if (req.url === "/alice.pub") return res.end(`# alice's keys\n${OTHER_KEY}\nnot a key at all\n\u001b[2J\n`);
      if (req.url === "/huge.pub") return res.end("x".repeat(200 * 1024));
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => repo.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(repo.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => repo.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  for (const dialect of DIALECTS) {
    describe(`on ${dialect}`, () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer({ keys: { url: `${base}/\${username}.pub`, ca: certs.caFile } }, dialect);
        await server.bringNodeOnline();
      });
      after(() => server.close());

      const deploy = async (user: string, body: Record<string, unknown> = {}) =>
        server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${await server.tokenFor(user)}` }, payload: { image: "tiny", ...body } });

      test("a user with no key of their own gets the repository's well-formed keys, and only those", async () => {
        const res = await deploy("alice");
        assert.equal(res.statusCode, 201, res.body);
        const row = await server.ctx.db.selectFrom("vms").select("ssh_keys").where("id", "=", res.json<{ id: string }>().id).executeTakeFirstOrThrow();
        assert.deepEqual(JSON.parse(row.ssh_keys), [OTHER_KEY]);
        // Keys given with the deploy win: the repository is not asked.
        const before = asked.length;
        assert.equal((await deploy("alice", { sshKeys: [KEY] })).statusCode, 201);
        assert.equal(asked.length, before);
      });

      test("a user the repository has no key for is told so; a username is escaped into the URL", async () => {
        const res = await deploy("bob.smith@lab");
        assert.equal(res.statusCode, 400);
        assert.match(res.json<{ detail: string }>().detail, /nor has the lab's key repository one for you/);
        assert.ok(asked.includes("/bob.smith%40lab.pub"), asked.join(" "));
      });

      test("an answer too large is refused: a 503 that says what to do, and no VM", async () => {
        const res = await deploy("huge");
        assert.equal(res.statusCode, 503);
        assert.equal(res.json<{ type: string }>().type, "/problems/key-repository-unavailable");
        assert.match(res.json<{ detail: string }>().detail, /larger than 64 KiB.*PUT \/api\/v1\/me\/ssh-keys/);
        assert.equal((await server.ctx.db.selectFrom("vms").select("id").where("owner", "=", "huge").execute()).length, 0);
      });
    });
  }

  test("a repository whose certificate vgrid does not trust is never read", async () => {
    const server = await startTestServer({ keys: { url: `${base}/\${username}.pub` } });
    try {
      await server.bringNodeOnline();
      const before = asked.length;
      const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${await server.tokenFor("alice")}` }, payload: { image: "tiny" } });
      assert.equal(res.statusCode, 503, res.body);
      assert.match(res.json<{ detail: string }>().detail, /certificate/);
      assert.equal(asked.length, before, "no request reached the repository");
    } finally {
      await server.close();
    }
  });

  test("the key repository must be HTTPS", async () => {
    await assert.rejects(startTestServer({ keys: { url: "http://keys.example.org/${username}.pub" } }), /keys\.url/);
  });
});

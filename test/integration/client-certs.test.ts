// Logging in with a client certificate, on SQLite and on PostgreSQL: vgrid serving HTTPS itself
// ([tls]) asks for a certificate, checks it against [auth.cert] ca, takes the username from its CN and
// applies `require` (the seed's SSLRequire on O and OU). Certificates made by the real openssl.

import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { sessionCookie } from "../../src/server/auth/authenticator.js";
import { buildServerConfig } from "../../src/server/config.js";
import { httpsOptions } from "../../src/server/tls.js";
import { clientCertificate, expiredClientCertificate, makeCa, serverCertificate, type Ca, type KeyPair } from "../support/certs.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";
import { tempDir } from "../support/vgrid.js";

interface Answer {
  status: number;
  json: { username?: string; detail?: string };
  headers: Record<string, string | string[] | undefined>;
}

/** GET `path` over HTTPS as a program would, trusting `ca` for the server, presenting `client` when given. */
function get(port: number, path: string, ca: string, client?: KeyPair, headers: Record<string, string> = {}): Promise<Answer> {
  return call("GET", port, path, ca, client, headers);
}

async function call(method: string, port: number, path: string, ca: string, client?: KeyPair, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const tls = {
    ca: await readFile(ca),
    ...(client ? { cert: await readFile(client.cert), key: await readFile(client.key) } : {}),
  };
  return new Promise((resolve, reject) => {
    // agent: false: each request its own handshake, so that no session of another certificate is reused.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const all = payload === undefined ? headers : { ...headers, "content-type": "application/json" };
    const req = request({ host: "127.0.0.1", port, path, method, headers: all, agent: false, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, json: text === "" ? {} : (JSON.parse(text) as Answer["json"]), headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

describe("client certificates", () => {
  let dir: string;
  let site: Ca;
  let foreign: Ca;
  let server: KeyPair;
  const clients: Record<string, KeyPair> = {};

  before(async () => {
    dir = await tempDir("certs");
    site = await makeCa(dir, "users-ca");
    foreign = await makeCa(dir, "foreign-ca");
    server = await serverCertificate(site);
    clients.alice = await clientCertificate(site, "alice", "/CN=alice/O=CERN/OU=USERS");
    clients.spaced = await clientCertificate(site, "spaced", "/CN=Erin Smith/O=CERN/OU=Other/OU=CA");
    clients.wrongO = await clientCertificate(site, "wrong-o", "/CN=mallory/O=Evil/OU=USERS");
    clients.wrongOu = await clientCertificate(site, "wrong-ou", "/CN=oscar/O=CERN/OU=GUESTS");
    clients.expired = await expiredClientCertificate(site, "expired", "/CN=trudy/O=CERN/OU=USERS");
    clients.foreign = await clientCertificate(foreign, "foreign", "/CN=alice/O=CERN/OU=USERS");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const settings = () => ({
    tls: { cert: server.cert, key: server.key },
    auth: {
      cert: { ca: site.cert, usernameField: "CN", require: { O: "CERN", OU: ["USERS", "CA"] } },
      // This test's client is a trusted proxy too: a bad certificate must not fall through to its header.
      proxy: { header: "X-Remote-User", trustedProxies: ["127.0.0.1/32"] },
    },
  });

  for (const dialect of DIALECTS) {
    describe(`on ${dialect}`, () => {
      let vgrid: TestServer;
      let port: number;

      before(async () => {
        vgrid = await startTestServer(settings(), dialect);
        await vgrid.app.listen({ host: "127.0.0.1", port: 0 });
        port = (vgrid.app.server.address() as AddressInfo).port;
      });
      after(async () => {
        await vgrid.close();
      });

      test("a good certificate logs its CN in: GET /me answers it as the username (a space becomes an underscore)", async () => {
        const alice = await get(port, "/api/v1/me", site.cert, clients.alice);
        assert.equal(alice.status, 200, JSON.stringify(alice.json));
        assert.equal(alice.json.username, "alice");
        // Several OU: any of them may be the allowed one.
        const erin = await get(port, "/api/v1/me", site.cert, clients.spaced);
        assert.equal(erin.status, 200, JSON.stringify(erin.json));
        assert.equal(erin.json.username, "Erin_Smith");
        const user = await vgrid.ctx.db.selectFrom("users").select(["name", "origin"]).where("name", "=", "Erin_Smith").executeTakeFirst();
        assert.deepEqual(user, { name: "Erin_Smith", origin: "cert" });
      });

      test("a certificate that fails require, has expired or comes from another CA is a 401 that says why, audited", async () => {
        const rows: Array<[keyof typeof clients, RegExp, string]> = [
          ["wrongO", /has O 'Evil', which this portal does not allow/, "mallory"],
          ["wrongOu", /has OU 'GUESTS', which this portal does not allow/, "oscar"],
          ["expired", /has expired/, "trudy"],
          ["foreign", /unknown CA/, "alice"],
        ];
        for (const [client, words, who] of rows) {
          const before = await vgrid.ctx.db.selectFrom("audit").selectAll().where("action", "=", "auth.login-failed").where("actor", "=", who).execute();
          const res = await get(port, "/api/v1/me", site.cert, clients[client]);
          assert.equal(res.status, 401, `${client}: ${JSON.stringify(res.json)}`);
          assert.match(res.json.detail ?? "", words, client);
          const audited = await vgrid.ctx.db.selectFrom("audit").selectAll().where("action", "=", "auth.login-failed").where("actor", "=", who).execute();
          assert.equal(audited.length, before.length + 1, `${client}: one auth.login-failed row for ${who}`);
          assert.match(audited.at(-1)!.detail ?? "", words);
          assert.equal(audited.at(-1)!.address, "127.0.0.1");
        }
        // None of them made a user.
        const made = await vgrid.ctx.db.selectFrom("users").select("name").where("name", "in", ["mallory", "oscar", "trudy"]).execute();
        assert.deepEqual(made, []);
      });

      test("without a certificate it is a 401, and a bearer token still works, with or without one", async () => {
        const none = await get(port, "/api/v1/me", site.cert);
        assert.equal(none.status, 401);
        assert.match(none.json.detail ?? "", /Bearer/);
        const token = await vgrid.tokenFor("bob");
        const bearer = await get(port, "/api/v1/me", site.cert, undefined, { authorization: `Bearer ${token}` });
        assert.equal(bearer.status, 200, JSON.stringify(bearer.json));
        assert.equal(bearer.json.username, "bob");
        const both = await get(port, "/api/v1/me", site.cert, clients.expired, { authorization: `Bearer ${token}` });
        assert.equal(both.json.username, "bob", "a bearer token wins over a certificate");
      });

      test("a presented but refused certificate never falls through to the proxy header; without one, the header counts", async () => {
        const header = { "x-remote-user": "victim" };
        const bad = await get(port, "/api/v1/me", site.cert, clients.foreign, header);
        assert.equal(bad.status, 401, JSON.stringify(bad.json));
        assert.match(bad.json.detail ?? "", /unknown CA/);
        const proxied = await get(port, "/api/v1/me", site.cert, undefined, header);
        assert.equal(proxied.json.username, "victim");
        const good = await get(port, "/api/v1/me", site.cert, clients.alice, header);
        assert.equal(good.json.username, "alice", "the certificate comes before the proxy header");
      });

      test("a change from another site is refused whatever certificate the browser attached; nothing changes", async () => {
        const tokens = async () => (await vgrid.ctx.db.selectFrom("tokens").select("id").execute()).length;
        const before = await tokens();
        const res = await call("POST", port, "/api/v1/tokens", site.cert, clients.alice, { origin: "https://evil.example" }, { name: "stolen" });
        assert.equal(res.status, 403, JSON.stringify(res.json));
        assert.equal(await tokens(), before);
        const own = await call("POST", port, "/api/v1/tokens", site.cert, clients.alice, { origin: `https://127.0.0.1:${port}` }, { name: "mine" });
        assert.equal(own.status, 201, `the portal's own https origin: ${JSON.stringify(own.json)}`);
      });

      test("under [tls] the session cookie is __Host- and Secure, and HSTS is sent", async () => {
        const res = await get(port, "/healthz", site.cert);
        assert.equal(res.status, 200);
        assert.match(String(res.headers["strict-transport-security"]), /max-age=\d+/);
        assert.deepEqual(sessionCookie(vgrid.ctx.config), { name: "__Host-vgrid_session", secure: true });
      });
    });
  }

  test("[tls] and [auth.cert] files that cannot serve are refused at start, naming the key and the file", async () => {
    const base = { listen: { host: "127.0.0.1", port: 0 }, database: { file: `${dir}/unused.db` } };
    const source = { file: "server.toml", dir };
    assert.throws(
      () => buildServerConfig({ ...base, auth: { cert: { ca: site.cert } } }, source),
      /server\.toml: auth\.cert: needs \[tls\]/,
    );
    const rows: Array<[Record<string, unknown>, RegExp]> = [
      [{ tls: { cert: "missing.pem", key: server.key } }, /tls\.cert: .*missing\.pem cannot be read: no such file/],
      [{ tls: { cert: server.cert, key: clients.alice!.key } }, /tls\.key: .*alice\.key is not the key of the certificate in .*server\.pem/],
      [{ tls: { cert: server.key, key: server.key } }, /tls\.cert: .*server\.key holds no certificate/],
      [{ tls: { cert: server.cert, key: server.cert } }, /tls\.key: .*server\.pem is not a private key/],
      [{ tls: { cert: server.cert, key: server.key }, auth: { cert: { ca: "nope.pem" } } }, /auth\.cert\.ca: .*nope\.pem cannot be read/],
    ];
    for (const [over, words] of rows) {
      await assert.rejects(httpsOptions(buildServerConfig({ ...base, ...over }, source)), words);
    }
  });
});

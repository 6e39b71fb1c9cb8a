// Logging in with the lab's own login, on SQLite and on PostgreSQL: an Apache password file written by
// Apache's own `htpasswd` (bcrypt, apr1, SHA and crypt entries), HTTP Basic on the API, the login form
// and the API's login, browser sessions and their cookie, logout, one-time login links, the origin
// rule, the directory ([auth.allow], the password file) and the audit of it all, never with a secret.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildServerConfig } from "../../src/server/config.js";
import { sessionsExpired } from "../../src/server/jobs/sessions-expired.js";
import { createLoginLink } from "../../src/server/store/sessions.js";
import { ensureUser } from "../../src/server/store/users.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";

const PORTAL = "http://portal.test:8080";

/** Apache's own htpasswd adds `user` with `password` to `file` in the format its flag names. */
function htpasswd(file: string, flag: "-B" | "-m" | "-s" | "-d", user: string, password: string): void {
  execFileSync("htpasswd", [existsSync(file) ? "-b" : "-cb", flag, file, user, password], { stdio: "ignore" });
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

/** The cookie a Set-Cookie header sets, as a browser sends it back. */
function cookieOf(setCookie: string | string[] | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  assert.ok(first, "a Set-Cookie header");
  return first.split(";")[0]!;
}

async function countRows(server: TestServer, table: "sessions" | "audit"): Promise<number> {
  const { n } = await server.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(n);
}

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let dir: string;
    let file: string;
    let server: TestServer;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "vgrid-logins-"));
      file = join(dir, "users.htpasswd");
      htpasswd(file, "-B", "alice", "bcrypt secret");
      htpasswd(file, "-m", "bob", "apr1 secret");
      htpasswd(file, "-s", "carol", "sha secret");
      htpasswd(file, "-d", "dave", "crypt88");
      htpasswd(file, "-B", "erin smith", "spaced");
      server = await startTestServer({ publicUrl: PORTAL, auth: { htpasswd: { file } } }, dialect);
    });
    after(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    test("HTTP Basic on the API takes every format Apache's htpasswd writes, and a wrong password is a 401", async () => {
      for (const [user, password] of [["alice", "bcrypt secret"], ["bob", "apr1 secret"], ["carol", "sha secret"], ["dave", "crypt88"]] as const) {
        const ok = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic(user, password) });
        assert.equal(ok.statusCode, 200, `${user}: ${ok.body}`);
        assert.equal(ok.json<{ username: string }>().username, user);
        const wrong = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic(user, `${password}x`) });
        assert.equal(wrong.statusCode, 401, `${user} with a wrong password`);
        assert.match(wrong.headers["content-type"] ?? "", /problem\+json/);
      }
      // A username with a space is the seed's: its user has an underscore, however it is typed.
      for (const typed of ["erin smith", "erin_smith"]) {
        const spaced = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic(typed, "spaced") });
        assert.equal(spaced.statusCode, 200, typed);
        assert.equal(spaced.json<{ username: string }>().username, "erin_smith");
      }
    });

    test("a 401 asks wget-style scripts for their password, never the portal's own page", async () => {
      const script = await server.app.inject({ method: "GET", url: "/api/v1/me" });
      assert.equal(script.statusCode, 401);
      assert.equal(script.headers["www-authenticate"], 'Basic realm="vgrid"');
      const page = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" } });
      assert.equal(page.statusCode, 401);
      assert.equal(page.headers["www-authenticate"], undefined);
    });

    test("the API's login gives a session cookie (HttpOnly, SameSite, a new id each time); logout ends it on the server", async () => {
      const login = () =>
        server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "bob", password: "apr1 secret" } });
      const first = await login();
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), { username: "bob", admin: false });
      const setCookie = String(first.headers["set-cookie"]);
      assert.match(setCookie, /HttpOnly/i);
      assert.match(setCookie, /SameSite=Lax/i);
      assert.match(setCookie, /Path=\//);
      const cookie = cookieOf(first.headers["set-cookie"]);
      const second = cookieOf((await login()).headers["set-cookie"]);
      assert.notEqual(cookie, second, "a new session id at each login");

      const me = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json<{ username: string }>().username, "bob");

      const out = await server.app.inject({ method: "POST", url: "/api/v1/auth/logout", headers: { cookie } });
      assert.equal(out.statusCode, 204);
      const after = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } });
      assert.equal(after.statusCode, 401, "the cookie a logout ended opens nothing, even if the browser kept it");
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie: second } })).statusCode, 200, "the other session lives on");
    });

    test("a tampered, unknown or ended cookie is a 401, never a fall-through to another credential", async () => {
      const tampered = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie: "vgrid_session=not-a-session", ...basic("alice", "bcrypt secret") } });
      assert.equal(tampered.statusCode, 401);
      assert.match(tampered.json<{ detail: string }>().detail, /session has ended/);
    });

    test("a wrong password is audited with the username and the address, never the password", async () => {
      await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "carol", password: "hunter2-typo" } });
      const rows = await server.ctx.db.selectFrom("audit").selectAll().where("action", "=", "auth.login-failed").where("actor", "=", "carol").execute();
      assert.ok(rows.length >= 1);
      const all = JSON.stringify(await server.ctx.db.selectFrom("audit").selectAll().execute());
      for (const secret of ["hunter2-typo", "bcrypt secret", "apr1 secret", "vgrid_session="]) assert.ok(!all.includes(secret), `the audit holds '${secret}'`);
      assert.equal(rows[0]!.address, "127.0.0.1");
    });

    test("the login form logs a browser in and lands on a path of the portal only", async () => {
      const form = await server.app.inject({ method: "GET", url: "/login?next=/vms" });
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /<form method="post" action="\/login">/);
      assert.match(form.body, /name="next" value="\/vms"/);
      for (const [next, lands] of [["/vms/1", "/vms/1"], ["https://evil.example", "/"], ["//evil.example", "/"], ["/\\evil.example", "/"], ["/\u3042", "/"]] as const) {
        const res = await server.app.inject({
          method: "POST",
          url: "/login",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: PORTAL },
          payload: new URLSearchParams({ username: "dave", password: "crypt88", next }).toString(),
        });
        assert.equal(res.statusCode, 303, res.body);
        assert.equal(res.headers.location, lands, `next=${next}`);
        assert.ok(res.headers["set-cookie"]);
      }
      const wrong = await server.app.inject({
        method: "POST",
        url: "/login",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: new URLSearchParams({ username: "dave<script>", password: "x" }).toString(),
      });
      assert.equal(wrong.statusCode, 401);
      assert.match(wrong.body, /role="alert">wrong username or password/);
      assert.ok(!wrong.body.includes("<script>"));
    });

    test("a change from another site is refused whatever the browser attached; nothing changes", async () => {
      const cookie = cookieOf((await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "alice", password: "bcrypt secret" } })).headers["set-cookie"]);
      const keys = async () => (await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } })).json<{ sshKeys: string[] }>().sshKeys;
      const before = await keys();
      const KEYS = { keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl evil"] };
      for (const headers of [
        { cookie, origin: "https://evil.example" },
        { cookie, origin: "http://portal.test:8081" },
        { cookie, "sec-fetch-site": "cross-site" },
        { ...basic("alice", "bcrypt secret"), origin: "https://evil.example" },
      ]) {
        const res = await server.app.inject({ method: "PUT", url: "/api/v1/me/ssh-keys", headers, payload: KEYS });
        assert.equal(res.statusCode, 403, JSON.stringify(headers));
        assert.match(res.json<{ detail: string }>().detail, /portal/);
      }
      const formPost = await server.app.inject({
        method: "POST",
        url: "/login",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
        payload: new URLSearchParams({ username: "alice", password: "bcrypt secret" }).toString(),
      });
      assert.equal(formPost.statusCode, 403, "a cross-site login form post (login CSRF)");
      assert.deepEqual(await keys(), before);
      // The portal's own pages, and programs that say no origin, may.
      const own = await server.app.inject({ method: "PUT", url: "/api/v1/me/ssh-keys", headers: { cookie, origin: PORTAL, "sec-fetch-site": "same-origin" }, payload: KEYS });
      assert.equal(own.statusCode, 200, own.body);
    });

    test("requests without a login never make a session", async () => {
      const before = await countRows(server, "sessions");
      for (let i = 0; i < 50; i++) {
        await server.app.inject({ method: "GET", url: "/" });
        await server.app.inject({ method: "GET", url: "/login" });
        await server.app.inject({ method: "GET", url: "/api/v1/me" });
      }
      assert.equal(await countRows(server, "sessions"), before);
      assert.equal((await server.app.inject({ method: "GET", url: "/login" })).headers["set-cookie"], undefined);
    });

    test("a user taken out of the password file is out at once: their password, sessions and tokens stop working", async () => {
      htpasswd(file, "-B", "frank", "frank pw");
      const cookie = cookieOf((await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "frank", password: "frank pw" } })).headers["set-cookie"]);
      const token = (await server.app.inject({ method: "POST", url: "/api/v1/tokens", headers: { cookie }, payload: { name: "script" } })).json<{ token: string }>().token;
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      execFileSync("htpasswd", ["-D", file, "frank"], { stdio: "ignore" });
      for (const headers of [{ cookie }, basic("frank", "frank pw"), { authorization: `Bearer ${token}` }]) {
        const res = await server.app.inject({ method: "GET", url: "/api/v1/me", headers });
        assert.ok(res.statusCode === 401 || res.statusCode === 403, `${Object.keys(headers)[0]}: ${res.statusCode}`);
      }
      const left = await server.ctx.db.selectFrom("sessions").select("hash").where("user_name", "=", "frank").execute();
      assert.deepEqual(left, [], "frank's sessions ended");
      // Users made on the server machine stand on their own.
      const own = await server.tokenFor("operator");
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: `Bearer ${own}` } })).statusCode, 200);
    });

    test("a password file that cannot be read for a moment keeps its last entries: nobody is logged out", async () => {
      const cookie = cookieOf((await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "alice", password: "bcrypt secret" } })).headers["set-cookie"]);
      await rename(file, `${file}.moving`);
      try {
        assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } })).statusCode, 200);
        assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic("alice", "bcrypt secret") })).statusCode, 200);
      } finally {
        await rename(`${file}.moving`, file);
      }
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } })).statusCode, 200);
    });

    test("a login link logs a browser in once, within its 15 minutes", async () => {
      await ensureUser(server.ctx.db, "gina", false, new Date().toISOString());
      const secret = await createLoginLink(server.ctx.db, "gina", false, new Date());
      const first = await server.app.inject({ method: "GET", url: `/auth/link/${secret}` });
      assert.equal(first.statusCode, 303);
      assert.equal(first.headers.location, "/");
      const cookie = cookieOf(first.headers["set-cookie"]);
      const me = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } });
      assert.equal(me.json<{ username: string }>().username, "gina");
      const again = await server.app.inject({ method: "GET", url: `/auth/link/${secret}` });
      assert.equal(again.statusCode, 410);
      assert.match(again.body, /used already/);
      assert.match(again.body, /href="\/login"/);
      const old = await createLoginLink(server.ctx.db, "gina", false, new Date(Date.now() - 16 * 60_000));
      const expired = await server.app.inject({ method: "GET", url: `/auth/link/${old}` });
      assert.equal(expired.statusCode, 410);
      assert.match(expired.body, /expired/);
      assert.equal((await server.app.inject({ method: "GET", url: "/auth/link/vgl_forged" })).statusCode, 404);
    });

    test("a brute force of one account is stopped with 429 and Retry-After; its owner is back within the minute", async () => {
      htpasswd(file, "-B", "hana", "the right one");
      const clock = server.ctx.now;
      let now = Date.now();
      server.ctx.now = () => new Date(now);
      try {
        for (let i = 0; i < 5; i++) {
          const res = await server.app.inject({ method: "GET", url: "/api/v1/me", remoteAddress: `10.1.0.${i}`, headers: basic("hana", `guess ${i}`) });
          assert.equal(res.statusCode, 401);
        }
        const limited = await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "hana", password: "the right one" } });
        assert.equal(limited.statusCode, 429, "even the right password waits: the guesser cannot tell");
        assert.equal(limited.json<{ type: string }>().type, "/problems/rate-limited");
        assert.ok(Number(limited.headers["retry-after"]) > 0 && Number(limited.headers["retry-after"]) <= 60);
        const form = await server.app.inject({
          method: "POST",
          url: "/login",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          payload: new URLSearchParams({ username: "hana", password: "the right one" }).toString(),
        });
        assert.equal(form.statusCode, 429);
        assert.match(form.body, /too many failed logins/);
        // Another account is not held up.
        assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic("alice", "bcrypt secret") })).statusCode, 200);
        now += 61_000;
        assert.equal((await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "hana", password: "the right one" } })).statusCode, 200);
      } finally {
        server.ctx.now = clock;
      }
    });

    test("a session ends when idle too long, and at its absolute end however busy; the job removes it", async () => {
      const clock = server.ctx.now;
      let now = Date.now();
      server.ctx.now = () => new Date(now);
      const login = async () =>
        cookieOf((await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "carol", password: "sha secret" } })).headers["set-cookie"]);
      const me = async (cookie: string) => (await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { cookie } })).statusCode;
      try {
        const idle = await login();
        now += 59 * 60_000;
        assert.equal(await me(idle), 200, "59 minutes idle: still on");
        now += 61 * 60_000;
        assert.equal(await me(idle), 401, "61 minutes after its last use: idle too long");
        const busy = await login();
        // Used every 50 minutes: 14 times is 11 h 40 min after the login, still within 12 h.
        for (let use = 0; use < 14; use++) {
          now += 50 * 60_000;
          assert.equal(await me(busy), 200);
        }
        now += 21 * 60_000;
        assert.equal(await me(busy), 401, "12 h 1 min after the login (absoluteHours = 12), however busy");
        await login();
        now += 13 * 60 * 60_000;
        await sessionsExpired.run(server.ctx, new Date(now));
        assert.equal(await server.ctx.db.selectFrom("sessions").select("hash").where("user_name", "=", "carol").execute().then((r) => r.length), 0);
      } finally {
        server.ctx.now = clock;
      }
    });

    test("GET /audit shows admins every login, failed login and logout, newest first, filtered and in pages", async () => {
      const cookie = cookieOf((await server.app.inject({ method: "POST", url: "/api/v1/auth/login", remoteAddress: "10.2.0.7", payload: { username: "dave", password: "crypt88" } })).headers["set-cookie"]);
      await server.app.inject({ method: "POST", url: "/api/v1/auth/logout", remoteAddress: "10.2.0.7", headers: { cookie } });
      await server.app.inject({ method: "POST", url: "/api/v1/auth/login", remoteAddress: "10.2.0.8", payload: { username: "dave", password: "not it" } });
      const admin = { authorization: `Bearer ${await server.tokenFor("root-admin")}` };
      const audit = async (query: string) => (await server.app.inject({ method: "GET", url: `/api/v1/audit?${query}`, headers: admin })).json<{ items: Array<{ actor: string; action: string; ip: string; at: string; detail: string | null }>; next?: string }>();
      const dave = await audit("actor=dave");
      assert.deepEqual(dave.items.slice(0, 3).map((e) => [e.action, e.ip]), [["auth.login-failed", "10.2.0.8"], ["auth.logout", "10.2.0.7"], ["auth.login", "10.2.0.7"]]);
      assert.ok(dave.items.every((e) => e.actor === "dave"));
      assert.ok((await audit("action=auth.logout")).items.every((e) => e.action === "auth.logout"));
      // Pages of one, following next, give the whole filtered list once, in order.
      const seen: string[] = [];
      let cursor = "";
      for (;;) {
        const page = await audit(`actor=dave&limit=1${cursor}`);
        seen.push(...page.items.map((e) => `${e.at} ${e.action}`));
        if (page.next === undefined) break;
        cursor = `&cursor=${page.next}`;
      }
      assert.deepEqual(seen, dave.items.map((e) => `${e.at} ${e.action}`));
      assert.ok(!JSON.stringify(dave).includes("not it"));
    });

    test("every answer carries the security headers", async () => {
      for (const url of ["/login", "/api/v1/me", "/healthz"]) {
        const res = await server.app.inject({ method: "GET", url });
        assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/, url);
        assert.equal(res.headers["x-content-type-options"], "nosniff", url);
        assert.equal(res.headers["referrer-policy"], "same-origin", url);
      }
    });
  });
}

describe("sessions under HTTPS and the directory", () => {
  test("under an https publicUrl the cookie is __Host- and Secure", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vgrid-logins-"));
    const file = join(dir, "users.htpasswd");
    htpasswd(file, "-B", "alice", "pw");
    const server = await startTestServer({ publicUrl: "https://vgrid.example.org", auth: { htpasswd: { file } } });
    try {
      const res = await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "alice", password: "pw" } });
      assert.equal(res.statusCode, 200);
      const setCookie = String(res.headers["set-cookie"]);
      assert.match(setCookie, /^__Host-vgrid_session=/);
      assert.match(setCookie, /Secure/);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("[auth.allow] is the directory for every mode: a user not in it is out, whatever the credential", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vgrid-logins-"));
    const file = join(dir, "users.htpasswd");
    htpasswd(file, "-B", "alice", "pw");
    htpasswd(file, "-B", "mallory", "pw");
    const server = await startTestServer({ auth: { htpasswd: { file }, allow: { users: ["alice", "ops"] } } });
    try {
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic("alice", "pw") })).statusCode, 200);
      const out = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: basic("mallory", "pw") });
      assert.equal(out.statusCode, 403);
      assert.match(out.json<{ detail: string }>().detail, /\[auth\.allow\]/);
      const token = await server.tokenFor("mallory");
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: `Bearer ${token}` } })).statusCode, 403);
      assert.equal((await server.app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: `Bearer ${await server.tokenFor("ops")}` } })).statusCode, 200);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the proxy mode refuses to start without trusted proxies, or with a wildcard", () => {
    const build = (proxy: unknown) => () => buildServerConfig({ auth: { proxy } }, { file: "server.toml", dir: "/tmp" });
    assert.throws(build({ header: "X-Remote-User", trustedProxies: [] }), /server\.toml: auth\.proxy\.trustedProxies: is empty/);
    assert.throws(build({ header: "X-Remote-User" }), /trustedProxies/);
    for (const wildcard of ["0.0.0.0/0", "::/0", "10.0.0.0/0"]) {
      assert.throws(build({ trustedProxies: ["127.0.0.1/32", wildcard] }), /auth\.proxy\.trustedProxies\[1\]: .* trusts every address/);
    }
    assert.throws(build({ trustedProxies: ["*"] }), /trustedProxies/);
    assert.throws(build({ trustedProxies: ["300.1.1.1/32"] }), /not an address in CIDR form/);
    // The same check for [metrics] allow, named against its own key.
    assert.throws(() => buildServerConfig({ metrics: { allow: ["127.0.0.0/8", "300.1.1.1/8"] } }, { file: "server.toml", dir: "/tmp" }), /server\.toml: metrics\.allow\[1\]: '300\.1\.1\.1\/8' is not an address in CIDR form/);
  });

  test("a proxy header is believed from a trusted proxy only; from anyone else it is ignored", async () => {
    const server = await startTestServer({ auth: { proxy: { header: "X-Remote-User", trustedProxies: ["127.0.0.2/32"] } } });
    try {
      const trusted = await server.app.inject({ method: "GET", url: "/api/v1/me", remoteAddress: "127.0.0.2", headers: { "x-remote-user": "Jane Doe" } });
      assert.equal(trusted.statusCode, 200, trusted.body);
      assert.equal(trusted.json<{ username: string }>().username, "Jane_Doe");
      const forged = await server.app.inject({ method: "GET", url: "/api/v1/me", remoteAddress: "127.0.0.1", headers: { "x-remote-user": "admin" } });
      assert.equal(forged.statusCode, 401);
      for (const bad of ["../../etc/passwd", "a".repeat(300), "rm -rf /;`id`", "\u0000bin"]) {
        const res = await server.app.inject({ method: "GET", url: "/api/v1/me", remoteAddress: "127.0.0.2", headers: { "x-remote-user": bad } });
        assert.equal(res.statusCode, 401, JSON.stringify(bad));
      }
      const users = await server.ctx.db.selectFrom("users").select("name").execute();
      assert.deepEqual(users.map((u) => u.name).sort(), ["Jane_Doe", "root-admin"]);
    } finally {
      await server.close();
    }
  });
});

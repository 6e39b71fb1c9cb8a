// Single sign-on with OpenID Connect, on SQLite and on PostgreSQL, against a real OpenID provider (the
// oidc-provider package) served over HTTPS with a certificate of the test's own CA (vgrid trusts it
// through [auth.oidc] ca), driven through the real redirects by a small browser: the login, the
// username from the claim, admins from adminGroups, the directory, the audit, and the attacks (another
// login's answer, a forged nonce or PKCE verifier, a replayed code, a foreign landing path).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "../../src/core/repo.js";
import { parseToml } from "../../src/core/toml-config.js";
import { openFlow, sealFlow } from "../../src/server/auth/login-flow.js";
import { buildServerConfig } from "../../src/server/config.js";
import { serverKey } from "../../src/server/store/server-keys.js";
import { Browser, type Answer } from "../support/step-browser.js";
import { startOpenIdProvider, type OpenIdProvider } from "../support/openid-provider.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-ca.js";

const PORTAL = "http://portal.test:8080";
const CALLBACK = `${PORTAL}/auth/oidc/callback`;
const CLIENT = { id: "vgrid", secret: "client-secret-for-the-test-4f1c9a", redirectUri: CALLBACK };
const FLOW_COOKIE = "vgrid_oidc";
const SESSION_COOKIE = "vgrid_session";

const ACCOUNTS = {
  alice: { preferred_username: "Alice Smith", groups: ["lab", "vgrid-admins"] },
  bob: { preferred_username: "bob", groups: ["lab"] },
  mallory: { preferred_username: "mallory", groups: ["visitors"] },
};

let dir: string;
let certs: TestCertificates;
let provider: OpenIdProvider;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgrid-oidc-"));
  certs = await makeTestCertificates(dir, "vgrid test CA");
  provider = await startOpenIdProvider({ certs, client: CLIENT, accounts: ACCOUNTS });
});
after(async () => {
  await provider.close();
  await rm(dir, { recursive: true, force: true });
});

function oidcSettings(over: Record<string, unknown> = {}) {
  return {
    issuer: provider.issuer,
    ca: certs.caFile,
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    usernameClaim: "preferred_username",
    groupsClaim: "groups",
    adminGroups: ["vgrid-admins"],
    ...over,
  };
}

/** The form's action on one of the provider's interaction pages. */
function formAction(page: Answer, base: string): string {
  const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(action, `a form on the provider's page: ${page.body.slice(0, 300)}`);
  return new URL(action.replace(/&amp;/g, "&"), base).href;
}

/** Follows redirects while they stay at the provider; the last answer (a page, or a redirect elsewhere). */
async function followAtProvider(browser: Browser, url: string): Promise<Answer & { url: string }> {
  let at = url;
  for (let i = 0; i < 10; i++) {
    const answer = await browser.open(at);
    if (answer.location === undefined || !answer.location.startsWith(provider.issuer)) return { ...answer, url: at };
    at = answer.location;
  }
  throw new Error("more than 10 redirects at the provider");
}

/**
 * Starts a login on vgrid with `next`, logs in at the provider as `account` (its login page, then its
 * consent page) and returns the URL the provider sends the browser back to, not yet opened.
 */
async function loginAtProvider(browser: Browser, account: string, next = "/"): Promise<string> {
  const start = await browser.open(`${PORTAL}/auth/oidc/login?next=${encodeURIComponent(next)}`);
  assert.equal(start.status, 303, start.body);
  const to = start.location ?? "";
  assert.ok(to.startsWith(`${provider.issuer}/`), `to the provider: ${to}`);
  const authorize = new URL(to);
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  for (const p of ["state", "nonce", "code_challenge"]) assert.ok(authorize.searchParams.get(p), p);
  assert.equal(authorize.searchParams.get("redirect_uri"), CALLBACK);

  const login = await followAtProvider(browser, to);
  assert.equal(login.status, 200, login.body);
  assert.match(login.body, /name="login"/);
  const consent = await followAtProvider(browser, (await browser.open(formAction(login, login.url), { prompt: "login", login: account, password: "any" })).location!);
  assert.equal(consent.status, 200, consent.body);
  assert.match(consent.body, /name="prompt" value="consent"/);
  const back = await followAtProvider(browser, (await browser.open(formAction(consent, consent.url), { prompt: "consent" })).location!);
  assert.equal(back.status, 303, back.body);
  const callback = back.location ?? "";
  assert.ok(callback.startsWith(`${CALLBACK}?`), `back to vgrid: ${callback}`);
  return callback;
}

async function countRows(server: TestServer, table: "sessions" | "audit" | "store_keys"): Promise<number> {
  const { n } = await server.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(n);
}

async function me(server: TestServer, browser: Browser): Promise<{ status: number; username?: string; admin?: boolean }> {
  const session = browser.cookie(PORTAL, SESSION_COOKIE);
  const res = await server.app.inject({ method: "GET", url: "/api/v1/me", headers: session === undefined ? {} : { cookie: `${SESSION_COOKIE}=${session}` } });
  if (res.statusCode !== 200) return { status: res.statusCode };
  const { username, admin } = res.json<{ username: string; admin: boolean }>();
  return { status: res.statusCode, username, admin };
}

/** Asserts that `answer` is the refusal page: a 4xx that says `why` and links to the login. */
function assertRefusal(answer: Answer, status: number, why: RegExp): void {
  assert.equal(answer.status, status, answer.body);
  assert.match(answer.body, /<h1>Single sign-on refused<\/h1>/);
  assert.match(answer.body.replace(/&#39;/g, "'").replace(/&quot;/g, '"'), why);
  assert.match(answer.body, /href="\/login/);
}

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let server: TestServer;
    const browser = () => new Browser({ origin: PORTAL, app: server.app }, certs.ca);

    before(async () => {
      server = await startTestServer({ publicUrl: PORTAL, auth: { oidc: oidcSettings(), allow: { groups: ["lab"] } } }, dialect);
    });
    after(() => server.close());

    test("the login page offers single sign-on, with the path to land on; the API's document lists its pages", async () => {
      const page = await server.app.inject({ method: "GET", url: "/login?next=/vms" });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<a href="\/auth\/oidc\/login\?next=%2Fvms"[^>]*>Log in with single sign-on<\/a>/);
      assert.doesNotMatch(page.body, /<form/, "no password form: htpasswd is off");
      const doc = (await server.app.inject({ method: "GET", url: "/api/docs/json" })).json<{ paths: Record<string, unknown> }>();
      for (const path of ["/auth/oidc/login", "/auth/oidc/callback"]) assert.ok(doc.paths[path], path);
    });

    test("a member of adminGroups logs in through the provider's pages, with the username from the claim, and is an admin for the session", async () => {
      const b = browser();
      const back = await loginAtProvider(b, "alice", "/vms/1");
      const landed = await b.open(back);
      assert.equal(landed.status, 303, landed.body);
      assert.equal(landed.location, `${PORTAL}/vms/1`);
      assert.equal(b.cookie(PORTAL, FLOW_COOKIE), undefined, "the login's cookie is gone once it is used");
      assert.deepEqual(await me(server, b), { status: 200, username: "Alice_Smith", admin: true });
      const user = await server.ctx.db.selectFrom("users").select(["origin", "groups", "admin"]).where("name", "=", "Alice_Smith").executeTakeFirstOrThrow();
      assert.deepEqual({ ...user, groups: JSON.parse(user.groups) as string[] }, { origin: "oidc", groups: ["lab", "vgrid-admins"], admin: 0 }, "an admin for the session, not in the store");
      const audit = await server.ctx.db.selectFrom("audit").selectAll().where("action", "=", "auth.login").where("actor", "=", "Alice_Smith").execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.detail, "oidc");
      assert.equal(audit[0]!.address, "127.0.0.1");
    });

    test("a user of the lab outside adminGroups logs in as a plain user", async () => {
      const b = browser();
      const landed = await b.open(await loginAtProvider(b, "bob"));
      assert.equal(landed.location, `${PORTAL}/`);
      assert.deepEqual(await me(server, b), { status: 200, username: "bob", admin: false });
    });

    test("next=https://evil.example lands on the portal's front page", async () => {
      for (const next of ["https://evil.example", "//evil.example", "/\\evil.example"]) {
        const b = browser();
        const landed = await b.open(await loginAtProvider(b, "bob", next));
        assert.equal(landed.status, 303);
        assert.equal(landed.location, `${PORTAL}/`, next);
      }
    });

    test("a code used twice is refused the second time and opens nothing", async () => {
      const b = browser();
      const back = await loginAtProvider(b, "bob");
      const flow = b.cookie(PORTAL, FLOW_COOKIE)!;
      assert.equal((await b.open(back)).status, 303);
      const sessions = await countRows(server, "sessions");

      // The same browser again: its login is over.
      assertRefusal(await b.open(back), 400, /No single sign-on login is under way/);
      // Someone who kept the login's cookie too: the provider refuses its code a second time.
      const thief = browser();
      thief.setCookie(PORTAL, FLOW_COOKIE, flow);
      const replay = await thief.open(back);
      assertRefusal(replay, 400, /refused this login's code: it was used already/);
      assert.equal(thief.cookie(PORTAL, SESSION_COOKIE), undefined);
      assert.equal(await countRows(server, "sessions"), sessions, "no session made");
    });

    test("the provider's answer to another browser's login (another state) is refused and opens nothing", async () => {
      const attacker = browser();
      const stolen = await loginAtProvider(attacker, "mallory");
      const victim = browser();
      assert.equal((await victim.open(`${PORTAL}/auth/oidc/login`)).status, 303, "the victim has a login of their own under way");
      const sessions = await countRows(server, "sessions");
      const refused = await victim.open(stolen);
      assertRefusal(refused, 400, /does not belong to the login this browser started \(its state differs\)/);
      assert.equal(victim.cookie(PORTAL, SESSION_COOKIE), undefined);
      // The right browser with a state changed on the way is refused too.
      const changed = new URL(stolen);
      changed.searchParams.set("state", "forged-state");
      assertRefusal(await attacker.open(changed.href), 400, /its state differs/);
      assert.equal(await countRows(server, "sessions"), sessions);
      const failed = await server.ctx.db.selectFrom("audit").select("detail").where("action", "=", "auth.login-failed").execute();
      assert.ok(failed.some((r) => r.detail?.includes("state differs")), "the refusal is audited");
    });

    test("a login cookie with another nonce or PKCE verifier, or changed at all, is refused and opens nothing", async () => {
      // The test seals cookies with the server's own key: what an attacker who had it could forge.
      const key = await serverKey(server.ctx.db, "oidc-flow");
      const sessions = await countRows(server, "sessions");
      for (const [field, why] of [
        ["nonce", /ID token was not made for this login \(its nonce differs\)/],
        ["verifier", /refused this login's code/],
      ] as const) {
        const b = browser();
        const back = await loginAtProvider(b, "bob");
        const opened = openFlow(key, b.cookie(PORTAL, FLOW_COOKIE)!, new Date());
        assert.ok("flow" in opened);
        b.setCookie(PORTAL, FLOW_COOKIE, sealFlow(key, { ...opened.flow, [field]: "forged-value-0123456789abcdefghijklmnopqrstuvwxyz" }));
        assertRefusal(await b.open(back), 400, why);
        assert.equal(b.cookie(PORTAL, SESSION_COOKIE), undefined, field);
      }
      const b = browser();
      const back = await loginAtProvider(b, "bob");
      const sealed = Buffer.from(b.cookie(PORTAL, FLOW_COOKIE)!, "base64url");
      sealed[sealed.length - 20] = sealed[sealed.length - 20]! ^ 1;
      b.setCookie(PORTAL, FLOW_COOKIE, sealed.toString("base64url"));
      assertRefusal(await b.open(back), 400, /not one this server made/);
      assert.equal(await countRows(server, "sessions"), sessions);
    });

    test("a user outside the groups of [auth.allow] is refused at the callback and gets no session", async () => {
      const b = browser();
      const sessions = await countRows(server, "sessions");
      const refused = await b.open(await loginAtProvider(b, "mallory"));
      assertRefusal(refused, 403, /mallory is not among the users \(or groups\) of \[auth\.allow\]/);
      assert.equal(b.cookie(PORTAL, SESSION_COOKIE), undefined);
      assert.equal(await countRows(server, "sessions"), sessions);
      const failed = await server.ctx.db.selectFrom("audit").selectAll().where("action", "=", "auth.login-failed").where("actor", "=", "mallory").execute();
      assert.equal(failed.length, 1);
    });

    test("a login cancelled at the provider says so and opens nothing", async () => {
      const b = browser();
      const start = await b.open(`${PORTAL}/auth/oidc/login`);
      const login = await followAtProvider(b, start.location!);
      const cancel = /href="([^"]*\/abort)"/.exec(login.body)?.[1];
      assert.ok(cancel, "the provider's page has a cancel link");
      const back = await followAtProvider(b, new URL(cancel, login.url).href);
      assertRefusal(await b.open(back.location!), 403, /cancelled or denied at the single sign-on/);
      assert.equal(b.cookie(PORTAL, SESSION_COOKIE), undefined);
    });

    test("starting logins writes nothing to the store, and the audit never holds a code, a cookie or the client's secret", async () => {
      const before = { sessions: await countRows(server, "sessions"), audit: await countRows(server, "audit") };
      for (let i = 0; i < 30; i++) {
        const res = await server.app.inject({ method: "GET", url: "/auth/oidc/login" });
        assert.equal(res.statusCode, 303);
        assert.doesNotMatch(String(res.headers["set-cookie"]), new RegExp(SESSION_COOKIE));
        assert.match(String(res.headers["set-cookie"]), /vgrid_oidc=.*Max-Age=600.*HttpOnly.*SameSite=Lax/i);
        assert.equal((await server.app.inject({ method: "GET", url: "/auth/oidc/callback?code=x&state=y" })).statusCode, 400);
      }
      assert.deepEqual({ sessions: await countRows(server, "sessions"), audit: await countRows(server, "audit") }, before);
      assert.equal(await countRows(server, "store_keys"), 2, "one key for the logins under way, made once, beside the secrets' key");

      const b = browser();
      const back = await loginAtProvider(b, "bob");
      const flow = b.cookie(PORTAL, FLOW_COOKIE)!;
      await b.open(back);
      const code = new URL(back).searchParams.get("code")!;
      const all = JSON.stringify(await server.ctx.db.selectFrom("audit").selectAll().execute());
      for (const secret of [code, flow, b.cookie(PORTAL, SESSION_COOKIE)!, CLIENT.secret]) assert.ok(!all.includes(secret), `the audit holds '${secret}'`);
    });
  });
}

describe("the single sign-on's settings", () => {
  test("it needs publicUrl and an HTTPS issuer", () => {
    const build = (file: Record<string, unknown>) => () => buildServerConfig(file, { file: "server.toml", dir: "/tmp" });
    const oidc = { issuer: "https://sso.example.org", clientId: "vgrid", clientSecret: "s" };
    assert.throws(build({ auth: { oidc } }), /server\.toml: publicUrl: is required with \[auth\.oidc\]/);
    for (const issuer of ["http://sso.example.org", "ftp://sso.example.org", "sso.example.org"]) {
      assert.throws(build({ publicUrl: PORTAL, auth: { oidc: { ...oidc, issuer } } }), /server\.toml: auth\.oidc\.issuer: .*(not HTTPS|not a URL)/, issuer);
    }
    const config = build({ publicUrl: PORTAL, auth: { oidc: { ...oidc, ca: "sso-ca.pem" } } })();
    assert.equal(config.auth.oidc?.ca, "/tmp/sso-ca.pem");
    assert.equal(config.auth.oidc?.usernameClaim, "preferred_username");
  });

  test("the README's [auth.oidc] lines are a server.toml vgrid takes", async () => {
    const readme = await readFile(join(repoRoot(), "README.md"), "utf8");
    const block = /<!-- test: oidc\.toml -->\n```toml\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, "the README marks its [auth.oidc] block");
    const config = buildServerConfig(parseToml("README.md", block), { file: "README.md", dir: "/etc/vgrid" });
    assert.deepEqual(config.auth.oidc, {
      issuer: "https://sso.example.org",
      ca: "/etc/vgrid/sso-ca.pem",
      clientId: "vgrid",
      clientSecret: "the secret the provider gave",
      usernameClaim: "preferred_username",
      groupsClaim: "groups",
      adminGroups: ["vgrid-admins"],
    });
  });

  test("with a password file too, the login page offers both", async () => {
    const file = join(dir, "users.htpasswd");
    await writeFile(file, "alice:$2y$05$CwTycUXWue0Thq9StjUM0uJ8.CCW3yGsq/Ul7Ip8JH3s86e3Cj9aa\n");
    const server = await startTestServer({ publicUrl: PORTAL, auth: { oidc: oidcSettings(), htpasswd: { file } } });
    try {
      const page = (await server.app.inject({ method: "GET", url: "/login" })).body;
      assert.match(page, /<a href="\/auth\/oidc\/login"[^>]*>Log in with single sign-on<\/a>/);
      assert.match(page, /<form method="post" action="\/login">/);
    } finally {
      await server.close();
    }
  });

  test("without its CA, a provider with the site's own certificate is not trusted: the login says why", async () => {
    const { ca: _ca, ...untrusted } = oidcSettings();
    const server = await startTestServer({ publicUrl: PORTAL, auth: { oidc: untrusted } });
    try {
      const res = await server.app.inject({ method: "GET", url: "/auth/oidc/login" });
      assert.equal(res.statusCode, 502, res.body);
      assert.match(res.body, /could not be reached: .*certificate/);
      assert.match(res.body, /href="\/login"/);
      assert.doesNotMatch(String(res.headers["set-cookie"]), /vgrid_session/);
    } finally {
      await server.close();
    }
  });
});

// The login form in a real browser (Debian's Chromium): a person logs in with a password from the
// lab's password file, lands on the portal, and logs out; a page on another port of the same host
// (same site, so the browser sends the cookie along) cannot log them out or in: the origin rule holds
// with the Origin a real browser sends. No console error (the page's CSP included).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, screenshot } from "../support/browser.js";
import { startTestServer, type TestServer } from "../support/server.js";

let dir: string;
let server: TestServer;
let browser: Browser;
let evil: Server;
let portal: string;
let evilUrl: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgrid-browser-"));
  const file = join(dir, "users.htpasswd");
  execFileSync("htpasswd", ["-cbB", file, "Ada Lovelace", "analytical engine"], { stdio: "ignore" });
  server = await startTestServer({ auth: { htpasswd: { file } } });
  // No publicUrl: the portal's origin is the address it listens on (127.0.0.1 and localhost with its port).
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  portal = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  evil = createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<form id="f" method="post" action="${portal}/logout"></form><script>document.getElementById("f").submit()</script>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test("a person logs in with the form, a page of another origin cannot log them out, and logout ends the session", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));

  await page.goto(`${portal}/`);
  assert.match(page.url(), /\/login$/, "the front page sends a person who is not logged in to the login");
  await page.getByLabel("Username").fill("Ada Lovelace");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Log in" }).click();
  assert.equal(await page.getByRole("alert").textContent(), "wrong username or password");
  assert.equal(await page.getByLabel("Username").inputValue(), "Ada Lovelace", "the username stays as typed");
  await screenshot(page, "login-wrong-password");

  await page.getByLabel("Password").fill("analytical engine");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${portal}/`);
  assert.match(await page.locator("header").textContent() ?? "", /Ada_Lovelace/, "the portal says who is logged in");
  await screenshot(page, "login-landed");
  const [cookie] = await context.cookies(portal);
  assert.equal(cookie?.httpOnly, true);
  assert.equal(cookie?.sameSite, "Lax");

  // Another port of the same host is the same site: the browser sends the cookie, the origin rule refuses.
  const refused = page.waitForResponse((r) => r.url() === `${portal}/logout`);
  await page.goto(evilUrl);
  assert.equal((await refused).status(), 403);
  await page.goto(`${portal}/`);
  assert.match(await page.locator("header").textContent() ?? "", /Ada_Lovelace/, "still logged in");

  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/\/login\?out=1$/);
  await page.getByRole("heading", { name: "You are logged out" }).waitFor();
  await screenshot(page, "login-after-logout");
  assert.equal(await server.ctx.db.selectFrom("sessions").select("hash").where("user_name", "=", "Ada_Lovelace").execute().then((r) => r.length), 0);
  // The console's only errors are the statuses of the wrong password (401) and the other origin's post (403).
  assert.deepEqual(problems.filter((p) => !/status of (401|403)/.test(p)), []);
  await context.close();
});

// The web portal as its people use it, in Debian's Chromium against a real `vgrid up` booting real
// tiny guests under QEMU: the admin logs in with the link vgrid up printed, a user with the password
// form; the user adds a key, deploys, watches the VM come up without a reload, copies the ssh line and
// connects with OpenSSH, extends it and terminates it; the admin terminates another of the user's VMs
// with a reason the user then reads; the user cannot reach the admin pages. Every page is looked at
// (screenshots at desktop and phone size in test-results/screenshots/) and checked with axe-core.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Vm } from "../../src/core/api.js";
import { DESKTOP, SCREENSHOTS, launchBrowser, lookAt } from "../support/browser.js";
import { eventually, sshKeygen, sshRun } from "../support/processes.js";
import { Api, cleanUp, startUp, tempDir, type Up } from "../support/vgrid.js";

const BOOT_MS = 240_000;

let dir: string;
let up: Up;
let admin: Api;
let browser: Browser;
let adminPage: Page;
let userContext: BrowserContext;
let userPage: Page;
let key: { privateKey: string; publicKey: string };
/** My VMs, open in its own tab from the deploy on, and how often it read the list. */
let listPage: Page;
let listReads = 0;
/** Serious accessibility problems of every page looked at; asserted empty at the end. */
const accessibility: string[] = [];
/** Errors in the browser's console that no step expected. */
const consoleErrors: string[] = [];

async function look(page: Page, name: string): Promise<void> {
  accessibility.push(...(await lookAt(page, name)));
}

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  return page;
}

/** The VM as the API says, asked with the page's own session. */
async function vmOf(page: Page, id: string): Promise<Vm> {
  const answer = await page.request.get(`${up.url}/api/v1/vms/${id}`);
  assert.equal(answer.status(), 200);
  return (await answer.json()) as Vm;
}

/** Marks the document: a reload would lose the mark, so its presence later proves there was none. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((globalThis as unknown as { vgridTestMark: number }).vgridTestMark = 1));
}
async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { vgridTestMark?: number }).vgridTestMark === 1);
}

before(async () => {
  dir = await tempDir("portal");
  key = await sshKeygen(dir, "ada_key");
  execFileSync("htpasswd", ["-cbB", join(dir, "users.htpasswd"), "ada", "ada's password"], { stdio: "ignore" });
  const config = join(dir, "server.toml");
  await writeFile(config, `[auth.htpasswd]\nfile = "users.htpasswd"\n\n[expiry]\ndefaultHours = 24\nmaxHours = 72\n`);
  up = await startUp({ maxVms: 3, config, dataDir: join(dir, "data") });
  admin = new Api(up.url, up.adminToken);
  browser = await launchBrowser();
  console.log(`# screenshots of the portal: ${SCREENSHOTS}`);
});

after(async () => {
  await browser?.close();
  await cleanUp(up?.proc, dir);
});

describe("the web portal", () => {
  test("the admin logs in with the link vgrid up printed, with nothing to type", async () => {
    const link = /^\s*(http:\/\/\S+\/auth\/link\/\S+)$/m.exec(up.proc.output)?.[1];
    assert.ok(link, up.proc.output);
    const context = await browser.newContext({ viewport: DESKTOP });
    adminPage = await newPage(context);
    await adminPage.goto(link);
    await adminPage.getByRole("heading", { name: "My VMs", exact: true }).waitFor();
    assert.equal(new URL(adminPage.url()).pathname, "/");
    const nav = adminPage.getByRole("navigation", { name: "Main" });
    for (const name of ["My VMs", "Deploy", "Keys", "Admin"]) assert.equal(await nav.getByRole("link", { name, exact: true }).count(), 1, name);
    await adminPage.getByText("You have no VMs.").waitFor();
    assert.equal(await adminPage.getByRole("link", { name: "Start your first VM" }).getAttribute("href"), "/deploy", "an empty list says what to do next");
    await look(adminPage, "01-my-vms-empty");
  });

  test("a user logs in with the password form, and cannot reach the admin pages", async () => {
    userContext = await browser.newContext({ viewport: DESKTOP });
    await userContext.grantPermissions(["clipboard-read", "clipboard-write"], { origin: up.url });
    userPage = await newPage(userContext);
    await userPage.goto(`${up.url}/deploy`);
    assert.equal(new URL(userPage.url()).pathname, "/login", "a page asked for before logging in goes to the login");
    await look(userPage, "02-login");
    await userPage.getByLabel("Username").fill("ada");
    await userPage.getByLabel("Password").fill("not it");
    await userPage.getByRole("button", { name: "Log in" }).click();
    assert.equal(await userPage.getByRole("alert").textContent(), "wrong username or password");
    await userPage.getByLabel("Password").fill("ada's password");
    await userPage.getByRole("button", { name: "Log in" }).click();
    await userPage.getByRole("heading", { name: "Deploy a VM" }).waitFor();
    assert.equal(new URL(userPage.url()).pathname, "/deploy", "and comes back to the page it asked for");
    assert.equal(await userPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).count(), 0, "no Admin link for a user");

    for (const path of ["/admin/hosts", "/admin/audit", "/admin"]) {
      const refused = await userPage.goto(`${up.url}${path}`);
      assert.equal(refused?.status(), 403, path);
      await userPage.getByRole("heading", { name: "Administrators only" }).waitFor();
    }
    await look(userPage, "03-admin-refused");
    for (const path of ["/hosts", "/hostnames", "/audit"]) {
      assert.equal((await userPage.request.get(`${up.url}/api/v1${path}`)).status(), 403, `the API refuses the user too: ${path}`);
    }
  });

  test("the user adds an ssh key on Keys, checked as it is pasted, and makes and revokes an API token", async () => {
    await userPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Keys" }).click();
    await userPage.getByRole("heading", { name: "Keys", exact: true }).waitFor();
    await look(userPage, "04-keys-empty");
    const field = userPage.getByLabel("Public key");
    await field.fill(key.publicKey.slice(0, 50));
    await userPage.getByText(/cut or altered/).waitFor();
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    assert.equal(await userPage.getByRole("button", { name: "Add key" }).isDisabled(), true, "a broken key cannot be added");
    await look(userPage, "05-keys-bad-paste");
    // With the keyboard alone: paste, Tab to the name, type it, Enter adds.
    await field.fill(key.publicKey);
    await userPage.getByText("A valid key.").waitFor();
    await field.press("Tab");
    await userPage.keyboard.type("e2e laptop");
    await userPage.keyboard.press("Enter");
    await userPage.getByText("e2e laptop", { exact: true }).waitFor();
    const me = (await (await userPage.request.get(`${up.url}/api/v1/me`)).json()) as { sshKeys: string[] };
    assert.deepEqual(me.sshKeys, [`${key.publicKey.split(" ").slice(0, 2).join(" ")} e2e laptop`]);

    await userPage.getByLabel("Token name").fill("ci");
    await userPage.getByRole("button", { name: "Create token" }).click();
    const shown = (await userPage.locator(".created-token code").textContent()) ?? "";
    assert.match(shown, /^vgt_/);
    await userPage.getByRole("button", { name: "Copy the new token" }).waitFor();
    await look(userPage, "06-keys-token-shown");
    const asScript = await fetch(`${up.url}/api/v1/me`, { headers: { authorization: `Bearer ${shown}` } });
    assert.equal(asScript.status, 200, "the token shown works for scripts");
    await userPage.getByRole("button", { name: "Done" }).click();
    assert.equal(await userPage.getByText(shown).count(), 0, "and is shown only once");
    await userPage.getByRole("button", { name: "Revoke token ci" }).click();
    const dialog = userPage.getByRole("dialog");
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await dialog.waitFor({ state: "hidden" });
    await eventually("the revoked token to stop working", 10_000, async () =>
      (await fetch(`${up.url}/api/v1/me`, { headers: { authorization: `Bearer ${shown}` } })).status === 401 ? true : undefined,
    );
  });

  let vmId: string;
  let vmName: string;

  test("the user deploys the tiny image and watches it reach running without a reload", async () => {
    // My VMs stays open in a second tab: the new VM must appear there and walk through its states from
    // the event stream alone, with the list read once (no polling).
    listPage = await newPage(userContext);
    listPage.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/v1/vms" && r.method() === "GET") listReads++;
    });
    await listPage.goto(`${up.url}/`);
    await listPage.getByText("You have no VMs.").waitFor();
    await markDocument(listPage);
    await userPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deploy" }).click();
    await userPage.getByRole("heading", { name: "Deploy a VM" }).waitFor();
    await markDocument(userPage);
    const image = userPage.getByLabel("Image");
    assert.deepEqual(await image.locator("option").allTextContents(), ["Tiny (busybox + dropbear)"], "images by their display names");
    const summary = (await userPage.getByRole("region", { name: "What it takes" }).textContent()) ?? "";
    assert.match(summary, /Expires .*1 day from now/, "the expiry is shown before Deploy");
    assert.match(summary, /0 VMs in use, this one adds 1 VM/, "and what it takes of the quota");
    const lifetimes = await userPage.getByLabel("Lifetime").locator("option").allTextContents();
    assert.equal(lifetimes.at(-1), "3 days (most allowed)", "lifetimes stop at the policy's maximum");
    await look(userPage, "07-deploy");

    await userPage.getByRole("button", { name: "Deploy" }).click();
    await userPage.waitForURL(/\/vms\/[0-9a-f-]{36}$/);
    vmId = new URL(userPage.url()).pathname.split("/").at(-1)!;
    vmName = (await userPage.getByRole("heading", { level: 1 }).textContent()) ?? "";
    assert.match(vmName, /^vm-\d+/);
    await userPage.getByRole("list", { name: "Start-up progress" }).waitFor();
    await look(userPage, "08-vm-booting");

    // Responding: yes appears when the guest answers ssh, from the event stream alone.
    await userPage.locator(".facts").getByText("yes", { exact: true }).waitFor({ timeout: BOOT_MS });
    assert.equal(await stillSameDocument(userPage), true, "no reload on the way");
    const history = userPage.getByRole("table", { name: "State history" });
    await history.getByRole("cell", { name: "running", exact: true }).waitFor();
    const states = await history.locator("tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual(states.slice(0, 3), ["pending", "provisioning", "running"], "its history walks through its states");
    await userPage.getByRole("heading", { name: "Boot log" }).waitFor();
    await userPage.getByText(/Linux version/).first().waitFor({ timeout: 30_000 });
    await look(userPage, "09-vm-running");

    const row = listPage.getByRole("row").filter({ hasText: vmName });
    await row.getByText("running", { exact: true }).waitFor();
    await row.getByText("yes", { exact: true }).waitFor();
    assert.equal(await row.getByRole("link", { name: vmName }).getAttribute("href"), `/vms/${vmId}`);
    assert.equal(await stillSameDocument(listPage), true);
    assert.equal(listReads, 1, "the list was read once, then kept up by the event stream");
    await look(listPage, "10-my-vms-running");
  });

  test("the user copies the ssh line and connects with OpenSSH", async () => {
    await userPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My VMs" }).click();
    const row = userPage.getByRole("row").filter({ hasText: vmName });
    await row.getByRole("button", { name: `Copy the ssh line of ${vmName}` }).click();
    const line = await userPage.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
    const parsed = /^ssh -p (\d+) root@(\S+)$/.exec(line);
    assert.ok(parsed, line);
    assert.equal(await row.getByText(line).count(), 1, "the line copied is the line shown");
    const hostname = (await sshRun(key.privateKey, parsed[2]!, Number(parsed[1]), "hostname")).trim();
    assert.equal(hostname, vmName.split(".")[0]);
  });

  test("the user extends it, within the policy", async () => {
    await userPage.getByRole("link", { name: vmName }).click();
    const before = (await vmOf(userPage, vmId)).expiresAt!;
    const choice = userPage.getByLabel("Extend by");
    assert.equal(await choice.locator("option:disabled").count() > 0, true, "an extension past the policy cannot be picked");
    assert.match((await userPage.getByText(/Longer is not allowed/).textContent()) ?? "", /it would pass the 3 days from now that the policy allows/);
    await choice.selectOption({ label: "by 1 day" });
    await userPage.getByRole("button", { name: "Extend" }).click();
    await userPage.getByRole("status").filter({ hasText: "Extended." }).waitFor();
    const afterExtend = (await vmOf(userPage, vmId)).expiresAt!;
    // A day added to its expiry (the later of it and now): within the minute this step took.
    const added = Date.parse(afterExtend) - Date.parse(before);
    assert.ok(added >= 24 * 3_600_000 && added < 24 * 3_600_000 + 60_000, `${before} -> ${afterExtend}`);
    await look(userPage, "11-vm-extended");
  });

  test("the user stops it and starts it again from its page, seeing its node at work", async () => {
    const button = (name: string) => userPage.getByRole("button", { name, exact: true });
    assert.equal(await button("Start").count(), 0, "a running VM offers no Start");
    await button("Stop").click();
    await userPage.locator(".page-head .badge").getByText("stopped", { exact: true }).waitFor({ timeout: 60_000 });
    // Start is offered once its node has stopped it; a stopped VM cannot be rebooted.
    await button("Start").waitFor({ timeout: 60_000 });
    assert.equal(await button("Reboot").count(), 0);
    await userPage.getByText("Stopped; its disk and name are kept.").waitFor();
    await look(userPage, "11b-vm-stopped");
    await button("Start").click();
    await userPage.locator(".page-head .badge").getByText("running", { exact: true }).waitFor({ timeout: 120_000 });
    await button("Reboot").waitFor();
    await eventually("the VM to answer again", 120_000, async () => (await vmOf(userPage, vmId)).responding || undefined, 500);
  });

  test("the user terminates it, confirming first, and watches it leave", async () => {
    // With the keyboard: Enter opens the question, focus is inside it, Escape takes it back.
    await userPage.getByRole("button", { name: "Terminate" }).focus();
    await userPage.keyboard.press("Enter");
    const dialog = userPage.getByRole("dialog", { name: `Terminate ${vmName}?` });
    await dialog.waitFor();
    const focusInside = await dialog.evaluate((d: { contains(node: unknown): boolean }) => d.contains((globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement));
    assert.equal(focusInside, true, "focus moves into the dialog");
    await userPage.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await vmOf(userPage, vmId)).state, "running", "Escape terminates nothing");
    await userPage.getByRole("button", { name: "Terminate" }).click();
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel("Reason").count(), 0, "an owner gives no reason");
    await look(userPage, "12-terminate-dialog");
    await dialog.getByRole("button", { name: "Terminate" }).click();
    await userPage.getByText("You terminated it").waitFor();
    await userPage.locator(".page-head .badge").getByText("terminated", { exact: true }).waitFor({ timeout: 120_000 });
    await look(userPage, "13-vm-terminated");
    // The tab left on My VMs saw it go, without reading the list again.
    await listPage.getByText("You have no VMs.").waitFor();
    assert.equal(listReads, 1);
    assert.equal(await stillSameDocument(listPage), true);
    await userPage.getByRole("button", { name: "Back to the list" }).click();
    await userPage.getByText("You have no VMs.").waitFor();
    assert.equal(await stillSameDocument(userPage), true, "the whole way without a reload");
  });

  test("the admin sees the user's VM under Admin and terminates it with a reason the user then reads", async () => {
    await userPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deploy" }).click();
    await userPage.getByRole("button", { name: "Deploy" }).click();
    await userPage.waitForURL(/\/vms\/[0-9a-f-]{36}$/);
    const id = new URL(userPage.url()).pathname.split("/").at(-1)!;
    const name = (await userPage.getByRole("heading", { level: 1 }).textContent()) ?? "";

    await adminPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    await adminPage.getByRole("heading", { name: "All VMs", exact: true }).waitFor();
    const row = adminPage.getByRole("row").filter({ hasText: name });
    await row.getByText("ada", { exact: true }).waitFor();
    await look(adminPage, "14-admin-vms");
    await row.getByRole("button", { name: "Terminate" }).click();
    const dialog = adminPage.getByRole("dialog", { name: `Terminate ${name}?` });
    assert.equal(await dialog.getByRole("button", { name: "Terminate" }).isDisabled(), true, "not without a reason");
    await dialog.getByLabel("Reason").fill("the lab's disk is full tonight");
    await look(adminPage, "15-admin-terminate-reason");
    await dialog.getByRole("button", { name: "Terminate" }).click();
    await dialog.waitFor({ state: "hidden" });

    // The owner's page, open all along, says who ended it and why, from the event stream.
    await userPage.getByText("Terminated by admin: the lab's disk is full tonight").waitFor();
    const vm = await vmOf(userPage, id);
    assert.equal(vm.terminatedBy, "admin");
    assert.equal(vm.reason, "the lab's disk is full tonight");
    await look(userPage, "16-user-sees-reason");
    await admin.terminateAndWait(id);
  });

  test("the admin reads the hosts, the hostname pool and the audit log", async () => {
    await adminPage.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Hosts" }).click();
    const card = adminPage.getByRole("listitem").filter({ has: adminPage.getByRole("heading", { name: /local/ }) });
    await card.getByText("online").waitFor();
    assert.match((await card.textContent()) ?? "", /of 3 VMs/);
    await adminPage.getByText(/names in use/).waitFor();
    await look(adminPage, "17-admin-hosts");

    await adminPage.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Audit" }).click();
    await adminPage.getByRole("searchbox", { name: "Search" }).fill("disk is full");
    await adminPage.getByRole("button", { name: "Search" }).click();
    const rows = adminPage.getByRole("table", { name: "Audit log" }).locator("tbody tr");
    await rows.first().getByText("vm.terminate").waitFor();
    assert.equal(await rows.count(), 1, "the search finds the one entry");
    await look(adminPage, "18-admin-audit");
  });

  test("every page looked at passes axe-core with no serious violation, and the console stayed clean", () => {
    assert.deepEqual(accessibility, []);
    // Expected: the 401 of the wrong password and the 403s of the three admin pages refused.
    assert.deepEqual(
      consoleErrors.map((e) => /status of (\d+)/.exec(e)?.[1] ?? e).sort(),
      ["401", "403", "403", "403"],
    );
  });
});

// The lifecycle policies as an owner and an operator meet them, on SQLite and on PostgreSQL: warnings
// before expiry, once each, saying which VM, when, and how to extend it in one click or one command;
// the one-click extend link; termination at expiry by the policy, or the grace period before it; the
// liveness and node-offline mails; and two passes at once (two replicas) that send each mail once.
// The server's clock is moved by hand; the mails are read from the outbox (the sender is not needed).

import assert from "node:assert/strict";
import { sql, type Selectable } from "kysely";
import { rm } from "node:fs/promises";
import { describe, test } from "node:test";
import type { Vm } from "../../src/core/api.js";
import { nodesOffline } from "../../src/server/jobs/nodes-offline.js";
import { PeriodicJobs } from "../../src/server/jobs/periodic.js";
import { policyPass } from "../../src/server/policies/policy-job.js";
import { closeServerContext, openServerContext, periodicIntervalMs, startServer } from "../../src/server/server.js";
import { ensureUser, issueToken } from "../../src/server/store/users.js";
import type { ServerContext } from "../../src/server/context.js";
import type { MailOutboxTable } from "../../src/server/store/schema.js";
import { DIALECTS, KEY, NODE_TOKEN, TINY_IMAGE, startTestServer, syncBody, testDatabase, testServerConfig, type Dialect, type TestServer } from "../support/server.js";
import { currentStore, oldStore } from "../support/old-store.js";
import { eventually } from "../support/processes.js";
import { tempDir } from "../support/vgrid.js";

const HOUR = 3600_000;
const START = Date.parse("2026-12-02T12:00:00.000Z");
const PUBLIC = "https://vgrid.example.org";
const MAIL = { host: "smtp.example.org", from: "vgrid <vgrid@example.org>", userAddress: "${username}@lab.example.org", admins: ["ops@lab.example.org"] };

type Mail = Pick<Selectable<MailOutboxTable>, "key" | "kind" | "vm_id" | "to_address" | "subject" | "text_body" | "html_body">;

interface Setup {
  server: TestServer;
  alice: string;
  /** Sets the server's clock to START plus `hours`. */
  at(hours: number): void;
  pass(ctx?: ServerContext): Promise<void>;
  mails(vmId?: string): Promise<Mail[]>;
  vm(id: string): Promise<Vm>;
  /** The node of h1 syncs now, reporting `reports`. */
  sync(reports?: Array<{ id: string; state: "running" | "provisioning"; responding: boolean }>): Promise<{ vms: Array<{ id: string; desired: string }> }>;
  close(): Promise<void>;
}

async function setup(dialect: Dialect, over: Record<string, unknown> = {}): Promise<Setup> {
  const server = await startTestServer(
    {
      publicUrl: PUBLIC,
      expiry: { defaultHours: 24, maxHours: 100, warnings: ["72h", "24h", "1h"], graceHours: 0 },
      mail: MAIL,
      liveness: { mailAfter: "30m", notifyAdmins: true },
      hostnames: { count: 20 },
      ...over,
    },
    dialect,
  );
  let clock = START;
  server.ctx.now = () => new Date(clock);
  await server.bringNodeOnline();
  const alice = await server.tokenFor("alice");
  return {
    server,
    alice,
    at: (hours) => void (clock = START + hours * HOUR),
    pass: (ctx = server.ctx) => policyPass.run(ctx, server.ctx.now()),
    async mails(vmId) {
      let q = server.ctx.db.selectFrom("mail_outbox").select(["key", "kind", "vm_id", "to_address", "subject", "text_body", "html_body"]).orderBy("id");
      if (vmId !== undefined) q = q.where("vm_id", "=", vmId);
      return q.execute();
    },
    async vm(id) {
      const res = await server.call(alice, "GET", `/vms/${id}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json<Vm>();
    },
    async sync(reports = []) {
      const res = await server.app.inject({
        method: "POST",
        url: "/api/v1/nodes/sync",
        headers: { authorization: `Bearer ${NODE_TOKEN}` },
        payload: syncBody("h1", { reports: reports.map((r) => ({ ...r, sshPort: 2222, ip: null, error: null, detail: null })) }),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    },
    close: () => server.close(),
  };
}

/** The one-time link's path in a mail's text. */
function linkOf(mail: Mail): string {
  const url = /https:\/\/vgrid\.example\.org(\/extend\/\S+)/.exec(mail.text_body)?.[1];
  assert.ok(url, `no extend link in:\n${mail.text_body}`);
  return url;
}

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    test("warnings arrive once each, 72 h, 24 h and 1 h before expiry, saying which VM, when, the link and the CLI line", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 96 });
        await s.pass();
        assert.equal((await s.mails(vm.id)).length, 0, "nothing before the first warning's time");
        s.at(24);
        await s.pass();
        await s.pass();
        const [first, ...rest] = await s.mails(vm.id);
        assert.equal(rest.length, 0, "one warning, however many passes");
        assert.equal(first!.kind, "expiry-warning");
        assert.equal(first!.to_address, "alice@lab.example.org");
        assert.equal(first!.key, `expiry-warning:${vm.id}:2026-12-06T12:00:00.000Z:259200`);
        assert.equal(first!.subject, `Your VM ${vm.name} expires in 72 hours`);
        for (const words of [vm.name, "expires at 2026-12-06 12:00 UTC, in 72 hours", `${PUBLIC}/extend/vgx_`, `vgrid extend ${vm.name} --hours 24`, "terminated and its disk deleted"]) {
          assert.ok(first!.text_body.includes(words), `the text says ${words}:\n${first!.text_body}`);
        }
        assert.ok(first!.html_body.includes(`href="${PUBLIC}${linkOf(first!)}"`), "the HTML's button is the same link");
        s.at(71);
        await s.pass();
        s.at(72);
        await s.pass();
        s.at(95);
        await s.pass();
        s.at(95.5);
        await s.pass();
        const all = await s.mails(vm.id);
        assert.deepEqual(all.map((m) => m.subject), [72, 24, 1].map((h) => `Your VM ${vm.name} expires in ${h} hour${h === 1 ? "" : "s"}`));
        assert.equal((await s.vm(vm.id)).state, "pending", "warned, not terminated");
      } finally {
        await s.close();
      }
    });

    test("a warning whose time had passed when the VM was deployed is not sent", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 30 });
        s.at(5);
        await s.pass();
        assert.equal((await s.mails(vm.id)).length, 0, "the 72 h warning's time was before the deploy");
        s.at(6);
        await s.pass();
        s.at(29);
        await s.pass();
        assert.deepEqual((await s.mails(vm.id)).map((m) => m.key.split(":").at(-1)), [String(24 * 3600), "3600"]);
      } finally {
        await s.close();
      }
    });

    test("an extension stops the next warning, and the warnings start again for the new expiry", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 30 });
        s.at(6);
        await s.pass();
        assert.equal((await s.mails(vm.id)).length, 1);
        s.at(7);
        const res = await s.server.call(s.alice, "POST", `/vms/${vm.id}/extend`, { hours: 24 });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<Vm>().expiresAt, new Date(START + 54 * HOUR).toISOString());
        s.at(29);
        await s.pass();
        s.at(29.9);
        await s.pass();
        assert.equal((await s.mails(vm.id)).length, 1, "the old expiry's 1 h warning is not sent");
        s.at(30);
        await s.pass();
        const mails = await s.mails(vm.id);
        assert.equal(mails.length, 2);
        assert.equal(mails[1]!.key, `expiry-warning:${vm.id}:${new Date(START + 54 * HOUR).toISOString()}:${24 * 3600}`, "re-armed: the new expiry's 24 h warning");
        assert.equal((await s.vm(vm.id)).state, "pending", "not terminated at the old expiry");
      } finally {
        await s.close();
      }
    });

    test("the extend link: opening it changes nothing, pressing it extends once, a used link is a 4xx page, another site's POST is refused", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 30 });
        s.at(6);
        await s.pass();
        const link = linkOf((await s.mails(vm.id))[0]!);
        const opened = await s.server.app.inject({ method: "GET", url: link });
        assert.equal(opened.statusCode, 200, opened.body);
        assert.match(opened.headers["content-type"] as string, /text\/html/);
        assert.match(opened.body, /<form method="post" action="\/extend\/vgx_[^"]+"><button type="submit">Extend vm-001 by 24 hours<\/button><\/form>/);
        assert.ok(!opened.body.includes("<script"), "no script");
        await s.server.app.inject({ method: "GET", url: link });
        assert.equal((await s.vm(vm.id)).expiresAt, new Date(START + 30 * HOUR).toISOString(), "a scanner's GETs change nothing");

        const foreign = await s.server.app.inject({ method: "POST", url: link, headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" }, payload: "" });
        assert.equal(foreign.statusCode, 403, foreign.body);
        assert.equal((await s.vm(vm.id)).expiresAt, new Date(START + 30 * HOUR).toISOString(), "another site's POST changed nothing");

        const own = { origin: PUBLIC, "content-type": "application/x-www-form-urlencoded" };
        const pressed = await s.server.app.inject({ method: "POST", url: link, headers: own, payload: "" });
        assert.equal(pressed.statusCode, 200, pressed.body);
        assert.match(pressed.body, /now expires at 2026-12-04 18:00 UTC/);
        assert.equal((await s.vm(vm.id)).expiresAt, new Date(START + 54 * HOUR).toISOString(), "extended by [expiry] defaultHours");
        const audit = await s.server.ctx.db.selectFrom("audit").select(["actor", "action", "address", "detail"]).where("target", "=", vm.id).where("action", "=", "vm.extend").execute();
        assert.equal(audit.length, 1);
        assert.equal(audit[0]!.actor, "alice", "audited as its owner");
        assert.match(audit[0]!.detail ?? "", /by the link of an expiry mail/);

        const again = await s.server.app.inject({ method: "POST", url: link, headers: own, payload: "" });
        assert.equal(again.statusCode, 410, again.body);
        assert.match(again.body, /used already: each works once/);
        assert.equal((await s.server.app.inject({ method: "GET", url: link })).statusCode, 410);
        assert.equal((await s.vm(vm.id)).expiresAt, new Date(START + 54 * HOUR).toISOString(), "extended once");
        s.at(30);
        await s.pass();
        const next = (await s.mails(vm.id)).at(-1)!;
        assert.match(next.key, /:2026-12-04T18:00:00.000Z:86400$/, "the new expiry's own warning and link");
        await s.server.call(s.alice, "POST", `/vms/${vm.id}/extend`, { hours: 1 });
        const stale = await s.server.app.inject({ method: "POST", url: linkOf(next), headers: own, payload: "" });
        assert.equal(stale.statusCode, 410, stale.body);
        assert.match(stale.body, /no longer applies: the VM&#39;s expiry has changed/);
        const unknown = await s.server.app.inject({ method: "GET", url: "/extend/vgx_not-a-link" });
        assert.equal(unknown.statusCode, 404);
        assert.match(unknown.body, /not one this server made/);
      } finally {
        await s.close();
      }
    });

    test("at expiry (no grace) the policy terminates the VM through the normal path, says why, and mails its owner once", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 2 });
        s.at(1);
        await s.pass();
        s.at(2);
        await s.sync();
        await Promise.all([s.pass(), s.pass()]);
        await s.pass();
        const gone = await s.vm(vm.id);
        assert.equal(gone.state, "terminating");
        assert.equal(gone.terminatedBy, "policy:expiry");
        assert.equal(gone.reason, "expired at 2026-12-02 14:00 UTC");
        const desired = await s.sync();
        assert.equal(desired.vms.find((v) => v.id === vm.id)?.desired, "terminated", "its node deletes it");
        const mails = await s.mails(vm.id);
        assert.deepEqual(mails.map((m) => m.kind), ["expiry-warning", "terminated"]);
        assert.match(mails[1]!.text_body, /being terminated by the expiry policy: it expired at 2026-12-02 14:00 UTC/);
        const audit = await s.server.ctx.db.selectFrom("audit").select(["actor", "detail"]).where("target", "=", vm.id).where("action", "=", "vm.terminate").execute();
        assert.deepEqual(audit, [{ actor: "policy:expiry", detail: "expired at 2026-12-02 14:00 UTC" }]);
      } finally {
        await s.close();
      }
    });

    test("with a grace period the VM is stopped with its disk, extending it starts it again; after the grace it is terminated", async () => {
      const s = await setup(dialect, { expiry: { defaultHours: 24, maxHours: 100, warnings: ["1h"], graceHours: 48 } });
      try {
        const kept = await s.server.deploy(s.alice, { hours: 2 });
        const left = await s.server.deploy(s.alice, { hours: 2 });
        s.at(1);
        await s.pass();
        s.at(2);
        await s.sync();
        await s.pass();
        for (const vm of [kept, left]) assert.equal((await s.vm(vm.id)).state, "expired");
        const desired = await s.sync();
        assert.equal(desired.vms.find((v) => v.id === kept.id)?.desired, "stopped", "stopped, not deleted");
        const expired = (await s.mails(left.id)).find((m) => m.kind === "expired");
        assert.ok(expired, "an expired mail");
        assert.match(expired.text_body, /terminated and its disk deleted at 2026-12-04 14:00 UTC, in 48 hours/);
        assert.match(expired.text_body, /\/extend\/vgx_/);

        s.at(3);
        const res = await s.server.call(s.alice, "POST", `/vms/${kept.id}/extend`, { hours: 24 });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<Vm>().state, "provisioning", "started again");
        assert.equal((await s.sync()).vms.find((v) => v.id === kept.id)?.desired, "running");

        s.at(49.9);
        await s.pass();
        assert.equal((await s.vm(left.id)).state, "expired", "kept until the grace's end");
        s.at(50);
        await s.sync();
        await s.pass();
        const gone = await s.vm(left.id);
        assert.equal(gone.state, "terminating");
        assert.equal(gone.terminatedBy, "policy:expiry");
        assert.match(gone.reason ?? "", /expired at 2026-12-02 14:00 UTC and was kept stopped until 2026-12-04 14:00 UTC/);
        assert.deepEqual((await s.mails(left.id)).map((m) => m.kind), ["expiry-warning", "expired", "terminated"]);
        assert.notEqual((await s.vm(kept.id)).state, "terminating", "the extended VM lives on");
      } finally {
        await s.close();
      }
    });

    test("a VM that stops answering gets one mail after mailAfter, one more when it answers again; none when it is not running", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 96 });
        const idle = await s.server.deploy(s.alice, { hours: 96 });
        await s.sync([{ id: vm.id, state: "running", responding: true }]);
        s.at(0.25);
        await s.sync([{ id: vm.id, state: "running", responding: false }]);
        s.at(0.4);
        await s.sync([{ id: vm.id, state: "running", responding: false }]);
        await s.pass();
        assert.equal((await s.mails(vm.id)).length, 0, "silent for less than 30 minutes (since its node's sync before it stopped answering)");
        s.at(0.75);
        await s.sync([{ id: vm.id, state: "running", responding: false }]);
        await Promise.all([s.pass(), s.pass()]);
        await s.pass();
        const mails = await s.mails(vm.id);
        assert.deepEqual(mails.map((m) => [m.kind, m.to_address]), [["not-responding", "alice@lab.example.org"], ["not-responding", "ops@lab.example.org"]]);
        assert.match(mails[0]!.text_body, /has not answered since 2026-12-02 12:00 UTC, 45 minutes ago/);
        s.at(1);
        await s.sync([{ id: vm.id, state: "running", responding: true }]);
        await s.pass();
        await s.pass();
        assert.deepEqual((await s.mails(vm.id)).map((m) => m.kind), ["not-responding", "not-responding", "responding-again", "responding-again"]);
        assert.equal((await s.mails(idle.id)).length, 0, "a pending VM that never ran gets no liveness mail");
      } finally {
        await s.close();
      }
    });

    test("a node that goes offline: one mail to the admins per outage, its VMs shown not responding, nothing deleted", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 96 });
        await s.sync([{ id: vm.id, state: "running", responding: true }]);
        assert.equal((await s.vm(vm.id)).responding, true);
        const heard: Vm[] = [];
        const stop = s.server.ctx.hub.onVm((v) => heard.push(v));
        s.at(0.1);
        await nodesOffline.run(s.server.ctx, s.server.ctx.now());
        await nodesOffline.run(s.server.ctx, s.server.ctx.now());
        stop();
        assert.deepEqual(heard.map((v) => [v.id, v.responding]), [[vm.id, false]], "its watchers hear it is not responding");
        const mails = (await s.mails()).filter((m) => m.kind === "node-offline");
        assert.deepEqual(mails.map((m) => m.to_address), ["ops@lab.example.org"]);
        assert.match(mails[0]!.text_body, /host h1 has not synced for more than 1 minute: its last sync was at 2026-12-02 12:00 UTC/);
        const shown = await s.vm(vm.id);
        assert.deepEqual([shown.state, shown.responding], ["running", false]);
        s.at(2);
        await s.pass();
        assert.equal((await s.mails(vm.id)).length, 0, "no not-responding mail for a VM of an offline node");
        await s.sync([{ id: vm.id, state: "running", responding: true }]);
        assert.equal((await s.vm(vm.id)).responding, true, "adopted as it is when the node comes back");
        s.at(2.1);
        await nodesOffline.run(s.server.ctx, s.server.ctx.now());
        assert.equal((await s.mails()).filter((m) => m.kind === "node-offline").length, 2, "a second outage, a second mail");
      } finally {
        await s.close();
      }
    });

    test("an admin who terminates someone's VM gives a reason, and its owner is mailed who and why", async () => {
      const s = await setup(dialect);
      try {
        const vm = await s.server.deploy(s.alice, { hours: 24 });
        const admin = await s.server.tokenFor("root-admin");
        const res = await s.server.call(admin, "DELETE", `/vms/${vm.id}`, { reason: "host h1 is being <retired>" });
        assert.equal(res.statusCode, 202, res.body);
        const [mail, ...more] = await s.mails(vm.id);
        assert.equal(more.length, 0);
        assert.equal(mail!.kind, "admin-terminated");
        assert.equal(mail!.subject, `Your VM ${vm.name} was terminated by admin root-admin`);
        assert.match(mail!.text_body, /Admin root-admin terminated your VM vm-001 \(image tiny\) because: host h1 is being <retired>/);
        assert.match(mail!.html_body, /host h1 is being &lt;retired&gt;/, "escaped in the HTML");
        await s.server.call(admin, "DELETE", `/vms/${vm.id}`, { reason: "again" });
        assert.equal((await s.mails(vm.id)).length, 1, "once");
      } finally {
        await s.close();
      }
    });

    test("the periodic work runs the policy pass on the lease holder every [policy] interval", async () => {
      const s = await setup(dialect, { policy: { interval: "10m" } });
      try {
        assert.equal(periodicIntervalMs(s.server.ctx.config), 15_000, "ticks as often as the node-offline check needs");
        const jobs = new PeriodicJobs(s.server.ctx, [policyPass], periodicIntervalMs(s.server.ctx.config));
        const vm = await s.server.deploy(s.alice, { hours: 30 });
        s.at(5.95);
        await jobs.tick();
        s.at(6.05);
        await jobs.tick();
        assert.equal((await s.mails(vm.id)).length, 0, "the warning's time came 6 minutes after the last pass: not yet");
        s.at(6.12);
        await jobs.tick();
        assert.equal((await s.mails(vm.id)).length, 1, "10 minutes after it: the pass ran");
        await jobs.stop();
      } finally {
        await s.close();
      }
    });

    test("a store from before the policies: no VM is killed at once for an expiry nobody enforced", async () => {
      const dir = await tempDir("policy-upgrade");
      const store = await testDatabase(dialect, dir);
      try {
        const place = { dialect, dir, url: store.database.url };
        const old = await oldStore(place, "2026-12-02T06-mail-outbox");
        await old.insertInto("users").values({ name: "alice", created_at: "2026-01-01T00:00:00.000Z" }).execute();
        await old.insertInto("hosts").values({ name: "h1", max_vms: 5, memory_mib: 8192, cpus: 8, token_hash: "" }).execute();
        const row = (id: string, expiresAt: string, mac: string) => ({
          id, name: id, owner: "alice", image: "tiny", host: "h1", state: "running", memory_mib: 256, cpus: 1, mac, ssh_keys: "[]",
          created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z", expires_at: expiresAt,
        });
        await old.insertInto("vms").values([row("vm-late", "2026-01-02T00:00:00.000Z", "52:54:00:00:00:01"), row("vm-later", "2099-01-01T00:00:00.000Z", "52:54:00:00:00:02")]).execute();
        await old.destroy();
        const before = Date.now();
        const db = await currentStore(place);
        try {
          const vms = await db.selectFrom("vms").select(["id", "expires_at", "policy_at"]).orderBy("id").execute();
          const late = Date.parse(vms[0]!.expires_at!);
          assert.ok(late >= before + 23.9 * HOUR && late <= Date.now() + 24 * HOUR, `the VM past its expiry got a day: ${vms[0]!.expires_at}`);
          assert.equal(vms[1]!.expires_at, "2099-01-01T00:00:00.000Z", "a later expiry is kept");
          assert.ok(vms.every((v) => v.policy_at !== null), "the first pass looks at every live VM");
          const story = await db.selectFrom("vm_history").select(["actor", "detail"]).where("vm_id", "=", "vm-late").execute();
          assert.deepEqual(story.map((h) => h.actor), ["policy:expiry"]);
          assert.match(story[0]!.detail ?? "", /it had passed before vgrid enforced expiry/);
        } finally {
          await db.destroy();
        }
      } finally {
        await store.drop();
        await rm(dir, { recursive: true, force: true });
      }
    });

    test("on the real clock, a running server's periodic work expires a VM within a [policy] interval or two", async () => {
      const dir = await tempDir("policy-real-clock");
      const store = await testDatabase(dialect, dir);
      const config = testServerConfig(dir, store.database, { policy: { interval: "1s" } });
      const running = await startServer(config);
      try {
        const nodeSync = await fetch(`${running.url}/api/v1/nodes/sync`, {
          method: "POST",
          headers: { authorization: `Bearer ${NODE_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(syncBody("h1")),
        });
        assert.equal(nodeSync.status, 200);
        await ensureUser(running.ctx.db, "alice", false, new Date().toISOString());
        const { secret } = await issueToken(running.ctx.db, "alice", "test", new Date().toISOString());
        const api = (method: string, path: string, body?: object) =>
          fetch(`${running.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
        // Two seconds to live: every warning's time has passed already; the pass terminates it.
        const deployed = await api("POST", "/vms", { image: "tiny", hours: 2 / 3600, sshKeys: [KEY] });
        assert.equal(deployed.status, 201);
        const vm = (await deployed.json()) as Vm;
        const gone = await eventually("the VM terminated by the policy", 15_000, async () => {
          const now = (await (await api("GET", `/vms/${vm.id}`)).json()) as Vm;
          return now.state === "terminating" ? now : undefined;
        });
        assert.equal(gone.terminatedBy, "policy:expiry");
        assert.ok(Date.now() >= Date.parse(vm.expiresAt!), "not before its expiry");
      } finally {
        await running.close();
        await store.drop();
        await rm(dir, { recursive: true, force: true });
      }
    });

    test("a decision that fails is not half made: its VM keeps no link nor mark, the others are decided, and the next pass makes it", async () => {
      const s = await setup(dialect);
      try {
        const vms = [];
        for (let i = 0; i < 3; i++) vms.push(await s.server.deploy(s.alice, { hours: 30 }));
        const broken = vms[1]!.id;
        // The store refuses the mail of one VM's decision, as a crash between its writes would leave it.
        if (dialect === "sqlite") {
          await sql`create trigger refuse_mail before insert on mail_outbox when new.vm_id = ${sql.lit(broken)} begin select raise(abort, 'refused'); end`.execute(s.server.ctx.db);
        } else {
          await sql`create function refuse_mail() returns trigger language plpgsql as $$ begin if new.vm_id = ${sql.lit(broken)} then raise exception 'refused'; end if; return new; end $$`.execute(s.server.ctx.db);
          await sql`create trigger refuse_mail before insert on mail_outbox for each row execute function refuse_mail()`.execute(s.server.ctx.db);
        }
        s.at(6);
        await s.pass();
        assert.deepEqual((await s.mails()).map((m) => m.vm_id).sort(), [vms[0]!.id, vms[2]!.id].sort(), "the others are warned");
        const links = await s.server.ctx.db.selectFrom("extend_links").select("vm_id").where("vm_id", "=", broken).execute();
        assert.equal(links.length, 0, "no link without its mail");
        const row = await s.server.ctx.db.selectFrom("vms").select(["warned_expires_at", "policy_at"]).where("id", "=", broken).executeTakeFirstOrThrow();
        assert.equal(row.warned_expires_at, null, "not marked warned");
        await sql`drop trigger refuse_mail${sql.raw(dialect === "sqlite" ? "" : " on mail_outbox")}`.execute(s.server.ctx.db);
        await s.pass();
        await s.pass();
        assert.equal((await s.mails(broken)).length, 1, "the next pass makes it, once");
        assert.equal((await s.mails()).length, 3);
      } finally {
        await s.close();
      }
    });

    test("two passes at once, as on two replicas, send each mail once and terminate each VM once", async () => {
      const s = await setup(dialect);
      const other = await openServerContext(s.server.ctx.config, { now: s.server.ctx.now });
      try {
        const vms = [];
        for (let i = 0; i < 4; i++) vms.push(await s.server.deploy(s.alice, { hours: 30 }));
        s.at(6);
        await Promise.all([s.pass(), s.pass(other), s.pass(), s.pass(other)]);
        assert.equal((await s.mails()).filter((m) => m.kind === "expiry-warning").length, 4);
        assert.equal((await s.server.ctx.db.selectFrom("extend_links").select("hash").execute()).length, 4, "one link per mail");
        s.at(30);
        await Promise.all([s.pass(), s.pass(other), s.pass(other)]);
        const mails = await s.mails();
        assert.equal(mails.filter((m) => m.kind === "terminated").length, 4);
        assert.equal(mails.filter((m) => m.kind === "expiry-warning").length, 4, "the 1 h warnings' time had passed: not sent at the end");
        const audit = await s.server.ctx.db.selectFrom("audit").select("target").where("actor", "=", "policy:expiry").execute();
        assert.equal(audit.length, 4, "each VM terminated once");
        for (const vm of vms) assert.equal((await s.vm(vm.id)).terminatedBy, "policy:expiry");
      } finally {
        await closeServerContext(other);
        await s.close();
      }
    });

    test("an image's defaultHours and maxHours bound its deploys and extensions, within [expiry]'s", async () => {
      const s = await setup(dialect, { images: [TINY_IMAGE, { ...TINY_IMAGE, tag: "short", name: "Short", defaultHours: 4, maxHours: 10 }] });
      try {
        const images = await s.server.call(s.alice, "GET", "/images");
        const short = images.json<{ items: Array<{ tag: string; defaultHours: number | null; maxHours: number | null }> }>().items.find((i) => i.tag === "short");
        assert.deepEqual([short?.defaultHours, short?.maxHours], [4, 10], "the image object carries them");
        const vm = await s.server.deploy(s.alice, { image: "short" });
        assert.equal(vm.expiresAt, new Date(START + 4 * HOUR).toISOString(), "the image's defaultHours");
        const long = await s.server.call(s.alice, "POST", "/vms", { image: "short", hours: 12, sshKeys: [KEY] });
        assert.equal(long.statusCode, 400);
        assert.match(long.body, /hours 12 is more than the policy allows for its image: at most 10/);
        const far = await s.server.call(s.alice, "POST", `/vms/${vm.id}/extend`, { hours: 8 });
        assert.equal(far.statusCode, 400);
        assert.match(far.body, /for its image, 10 hours from now: at most 6 more hours now/);
        const tiny = await s.server.deploy(s.alice, { hours: 100 });
        assert.equal(tiny.expiresAt, new Date(START + 100 * HOUR).toISOString(), "an image without them: [expiry]'s");
      } finally {
        await s.close();
      }
    });
  });
}

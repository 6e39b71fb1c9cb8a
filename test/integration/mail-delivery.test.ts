// Mail leaving vgrid, on SQLite and on PostgreSQL, through a real SMTP server on 127.0.0.1: a queued
// mail arrives once, with its kind, its VM and a Message-ID made from its key; a key queued twice is
// one mail; a relay that is down or refusing is tried again with backoff (the server's clock moved by
// hand), /outbox says why in words, and the mail arrives once the relay is back; STARTTLS trusts the
// CA of [mail] ca and nothing else; a login is made without its password ever shown; two senders at
// once send each mail once; /outbox is for admins; an admin's termination reaches the owner with why.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { OutboxEntry, Problem, Vm } from "../../src/core/api.js";
import { checkMailSetup, createMailSender, type MailSender } from "../../src/server/mail/sender.js";
import { enqueueMail, type OutgoingMail } from "../../src/server/store/outbox.js";
import { buildServerConfig } from "../../src/server/config.js";
import { startServer } from "../../src/server/server.js";
import { DIALECTS, NODE_TOKEN, startTestServer, testDatabase, type TestServer } from "../support/server.js";
import { freePort, startSmtp, type TestSmtp } from "../support/smtp.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-ca.js";
import { tempDir } from "../support/vgrid.js";

const FROM = "vgrid <vgrid@lab.example.org>";
const START = Date.parse("2026-12-02T08:00:00Z");
const SECOND = 1000;

/** [mail] for a relay on 127.0.0.1:`port`; `over` adds or replaces keys. */
function mailSettings(port: number, over: Record<string, unknown> = {}) {
  return { host: "127.0.0.1", port, security: "none", from: FROM, userAddress: "${username}@lab.example.org", admins: ["ops@lab.example.org"], ...over };
}

/** A mail of `kind` about `vmId`, keyed by `key`. */
function mail(key: string, vmId: string | null = "0b9c3f9e-1111-4222-8333-444455556666"): OutgoingMail {
  return {
    key,
    kind: "expiry-warning",
    vmId,
    to: "alice@lab.example.org",
    subject: `About ${key}`,
    text: `Plain words for ${key}.\n`,
    html: `<p>HTML words for ${key}.</p>`,
  };
}

/** A test server whose [mail] is `settings`, its clock standing at START until moved, and its sender. */
class MailWorld {
  clock = START;
  constructor(
    readonly server: TestServer,
    readonly sender: MailSender,
    readonly admin: string,
  ) {
    server.ctx.now = () => new Date(this.clock);
  }

  static async start(dialect: (typeof DIALECTS)[number], settings: Record<string, unknown> | undefined): Promise<MailWorld> {
    const server = await startTestServer(
      { hosts: [{ name: "h1", maxVms: 20, memoryMiB: 1 << 16, cpus: 64, token: NODE_TOKEN }], ...(settings === undefined ? {} : { mail: settings }) },
      dialect,
    );
    const sender = createMailSender(server.ctx, await checkMailSetup(server.ctx.config));
    return new MailWorld(server, sender, await server.tokenFor("root-admin"));
  }

  enqueue(m: OutgoingMail): Promise<boolean> {
    return this.server.ctx.writes.run((tx) => enqueueMail(tx, m, new Date(this.clock)));
  }

  async outbox(query = ""): Promise<OutboxEntry[]> {
    const res = await this.server.call(this.admin, "GET", `/outbox${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: OutboxEntry[] }>().items;
  }

  async entry(key: string): Promise<OutboxEntry> {
    const found = (await this.outbox()).find((e) => e.subject === `About ${key}`);
    assert.ok(found, `no mail ${key} in the outbox`);
    return found;
  }

  async close(): Promise<void> {
    await this.sender.stop();
    await this.server.close();
  }
}

const messageIdOf = (key: string) => `<${createHash("sha256").update(key).digest("hex")}@lab.example.org>`;

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let dir: string;
    let certs: TestCertificates;
    before(async () => {
      dir = await tempDir("mail");
      certs = await makeTestCertificates(dir, "site mail CA");
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    describe("with a relay that takes mail", () => {
      let smtp: TestSmtp;
      let world: MailWorld;
      before(async () => {
        smtp = await startSmtp();
        world = await MailWorld.start(dialect, mailSettings(smtp.port));
      });
      after(async () => {
        await world.close();
        await smtp.stop();
      });

      test("a queued mail arrives once, with its kind and VM headers, its text and HTML parts, and a Message-ID made from its key", async () => {
        const before = smtp.received.length;
        assert.equal(await world.enqueue(mail("arrives-once")), true);
        assert.deepEqual(await world.sender.sendDue(), { sent: 1, retrying: 0, failed: 0 });
        const [got] = (await smtp.waitFor(before + 1)).slice(before);
        assert.deepEqual(got!.to, ["alice@lab.example.org"]);
        assert.equal(got!.from, "vgrid@lab.example.org");
        assert.equal(got!.parsed.subject, "About arrives-once");
        assert.equal(got!.header("x-vgrid-kind"), "expiry-warning");
        assert.equal(got!.header("x-vgrid-vm"), "0b9c3f9e-1111-4222-8333-444455556666");
        assert.equal(got!.parsed.text, "Plain words for arrives-once.\n");
        assert.equal(got!.parsed.html, "<p>HTML words for arrives-once.</p>");
        assert.equal(got!.parsed.messageId, messageIdOf("arrives-once"));

        assert.deepEqual(await world.sender.sendDue(), { sent: 0, retrying: 0, failed: 0 }, "a sent mail is not sent again");
        assert.equal(smtp.received.length, before + 1);
        const entry = await world.entry("arrives-once");
        assert.deepEqual(
          { state: entry.state, attempts: entry.attempts, lastError: entry.lastError, sentAt: entry.sentAt, kind: entry.kind, to: entry.to },
          { state: "sent", attempts: 1, lastError: null, sentAt: new Date(START).toISOString(), kind: "expiry-warning", to: "alice@lab.example.org" },
        );
      });

      test("the same key queued twice is one mail", async () => {
        const before = smtp.received.length;
        assert.equal(await world.enqueue(mail("twice")), true);
        assert.equal(await world.enqueue({ ...mail("twice"), subject: "About twice, again" }), false);
        await world.sender.sendDue();
        await world.sender.sendDue();
        await smtp.waitFor(before + 1);
        assert.deepEqual(smtp.received.slice(before).map((m) => m.parsed.subject), ["About twice"]);
        assert.equal((await world.outbox()).filter((e) => e.subject.startsWith("About twice")).length, 1);
      });

      test("a mail about no VM has no X-Vgrid-Vm header", async () => {
        const before = smtp.received.length;
        await world.enqueue(mail("no-vm", null));
        await world.sender.sendDue();
        const [got] = (await smtp.waitFor(before + 1)).slice(before);
        assert.equal(got!.header("x-vgrid-vm"), undefined);
        assert.equal(got!.header("x-vgrid-kind"), "expiry-warning");
      });

      test("two senders at once (two replicas) send each mail once", async () => {
        const before = smtp.received.length;
        const keys = Array.from({ length: 14 }, (_, i) => `replicas-${i}`);
        for (const key of keys) await world.enqueue(mail(key));
        const other = createMailSender(world.server.ctx, await checkMailSetup(world.server.ctx.config));
        try {
          const reports = await Promise.all([world.sender.sendDue(), other.sendDue()]);
          assert.equal(reports[0].sent + reports[1].sent, keys.length);
        } finally {
          await other.stop();
        }
        await smtp.waitFor(before + keys.length);
        assert.deepEqual(smtp.received.slice(before).map((m) => m.parsed.subject).sort(), keys.map((k) => `About ${k}`).sort());
      });

      test("/outbox is for admins: a user is refused with a 403", async () => {
        const alice = await world.server.tokenFor("alice");
        const res = await world.server.call(alice, "GET", "/outbox");
        assert.equal(res.statusCode, 403);
        assert.match(res.json<Problem>().detail, /administrators/);
      });

      test("/outbox lists newest first, filters by state, kind and vmId, and pages with next", async () => {
        await world.enqueue({ ...mail("filtered", "7a7a7a7a-1111-4222-8333-444455556666"), kind: "node-offline" });
        const all = await world.outbox();
        assert.equal(all[0]!.subject, "About filtered");
        assert.ok(all.every((e, i) => i === 0 || Number(all[i - 1]!.id) > Number(e.id)), "newest first");
        assert.deepEqual((await world.outbox("?state=queued")).map((e) => e.subject), ["About filtered"]);
        assert.deepEqual((await world.outbox("?kind=node-offline")).map((e) => e.subject), ["About filtered"]);
        assert.deepEqual((await world.outbox("?vmId=7a7a7a7a-1111-4222-8333-444455556666")).map((e) => e.subject), ["About filtered"]);
        assert.deepEqual(await world.outbox("?kind=node-offline&state=sent"), []);
        const first = (await world.server.call(world.admin, "GET", "/outbox?limit=2")).json<{ items: OutboxEntry[]; next?: string }>();
        assert.equal(first.items.length, 2);
        assert.ok(first.next);
        const second = (await world.server.call(world.admin, "GET", `/outbox?limit=2&cursor=${first.next}`)).json<{ items: OutboxEntry[] }>();
        assert.deepEqual(second.items.map((e) => e.id), all.slice(2, 4).map((e) => e.id));
        const bad = await world.server.call(world.admin, "GET", "/outbox?state=lost");
        assert.equal(bad.statusCode, 400);
        assert.match(bad.json<Problem>().detail, /state/);
        await world.sender.sendDue();
      });

      test("an admin who terminates alice's VM queues one admin-terminated mail, which reaches her with the reason", async () => {
        await world.server.bringNodeOnline();
        const alice = await world.server.tokenFor("alice");
        const vm = await world.server.deploy(alice);
        const own = await world.server.deploy(alice);
        const before = smtp.received.length;
        const reason = "host h1 is being retired <today>";
        const res = await world.server.call(world.admin, "DELETE", `/vms/${vm.id}`, { reason });
        assert.equal(res.statusCode, 202, res.body);
        assert.equal((await world.server.call(world.admin, "DELETE", `/vms/${vm.id}`, { reason: "again" })).statusCode, 202);
        assert.equal((await world.server.call(alice, "DELETE", `/vms/${own.id}`)).statusCode, 202);

        const queued = await world.outbox(`?kind=admin-terminated`);
        assert.deepEqual(
          queued.map((e) => [e.vmId, e.to, e.state]),
          [[vm.id, "alice@lab.example.org", "queued"]],
          "one mail, for the VM the admin terminated; none when alice terminates her own",
        );
        await world.sender.sendDue();
        const [got] = (await smtp.waitFor(before + 1)).slice(before);
        assert.deepEqual(got!.to, ["alice@lab.example.org"]);
        assert.equal(got!.header("x-vgrid-kind"), "admin-terminated");
        assert.equal(got!.header("x-vgrid-vm"), vm.id);
        assert.equal(got!.parsed.messageId, messageIdOf(`admin-terminated:${vm.id}`));
        const text = got!.parsed.text ?? "";
        assert.match(text, new RegExp(`Admin root-admin terminated your VM ${vm.name}`));
        assert.ok(text.includes(`because: ${reason}`), text);
        assert.ok(text.includes("image tiny"), text);
        assert.ok(text.includes("at 2026-12-02 08:00 UTC"), text);
        assert.ok(String(got!.parsed.html).includes("host h1 is being retired &lt;today&gt;"), "the reason is escaped in the HTML");
        const sent = await world.outbox(`?vmId=${vm.id}`);
        assert.equal(sent[0]!.state, "sent");
        const shown = (await world.server.call(alice, "GET", `/vms/${vm.id}`)).json<Vm>();
        assert.equal(shown.reason, reason);
      });
    });

    test("a relay that is not there is tried again with backoff, /outbox says why, and the mail arrives once it is back", async () => {
      const port = await freePort();
      const world = await MailWorld.start(dialect, mailSettings(port));
      let smtp: TestSmtp | undefined;
      try {
        await world.enqueue(mail("comes-back"));
        assert.deepEqual(await world.sender.sendDue(), { sent: 0, retrying: 1, failed: 0 });
        let entry = await world.entry("comes-back");
        assert.equal(entry.state, "queued");
        assert.equal(entry.attempts, 1);
        assert.match(entry.lastError ?? "", new RegExp(`SMTP server 127\\.0\\.0\\.1:${port} refused the connection: is it running, and are \\[mail\\] host and port right\\?`));

        assert.deepEqual(await world.sender.sendDue(), { sent: 0, retrying: 0, failed: 0 }, "not tried again before its backoff");
        world.clock += 15 * SECOND;
        assert.equal((await world.sender.sendDue()).retrying, 1, "tried again after 15 s");
        world.clock += 20 * SECOND;
        assert.equal((await world.sender.sendDue()).retrying, 0, "the next wait is longer: 30 s");
        world.clock += 10 * SECOND;
        assert.equal((await world.sender.sendDue()).retrying, 1);
        assert.equal((await world.entry("comes-back")).attempts, 3);

        smtp = await startSmtp({ port });
        world.clock += 59 * SECOND;
        assert.equal((await world.sender.sendDue()).sent, 0, "60 s after the third try, not before");
        world.clock += SECOND;
        assert.equal((await world.sender.sendDue()).sent, 1);
        const [got] = await smtp.waitFor(1);
        assert.equal(got!.parsed.messageId, messageIdOf("comes-back"));
        entry = await world.entry("comes-back");
        assert.equal(entry.state, "sent");
        assert.equal(entry.attempts, 4);
        assert.match(entry.lastError ?? "", /refused the connection/, "the last error stays, for the story");
        await world.sender.sendDue();
        assert.equal(smtp.received.length, 1);
      } finally {
        await world.close();
        await smtp?.stop();
      }
    });

    test("a relay that refuses (421) is tried again, and never more than 5 minutes apart", async () => {
      const smtp = await startSmtp();
      const world = await MailWorld.start(dialect, mailSettings(smtp.port));
      try {
        smtp.refusing = true;
        await world.enqueue(mail("refused"));
        for (let tries = 1; tries <= 8; tries++) {
          assert.equal((await world.sender.sendDue()).retrying, 1, `try ${tries}`);
          world.clock += 5 * 60 * SECOND;
        }
        const entry = await world.entry("refused");
        assert.equal(entry.attempts, 8);
        assert.match(entry.lastError ?? "", /421/);
        assert.match(entry.lastError ?? "", /too busy for you now/);
        smtp.refusing = false;
        assert.equal((await world.sender.sendDue()).sent, 1);
        await smtp.waitFor(1);
      } finally {
        await world.close();
        await smtp.stop();
      }
    });

    test("a mail is given up, failed with the reason, only after 3 days of tries", async () => {
      const world = await MailWorld.start(dialect, mailSettings(await freePort()));
      try {
        await world.enqueue(mail("gives-up"));
        // Tried every 6 hours (any wait beyond the 5-minute cap will do): queued until 3 days have passed.
        let givenUpAt = START;
        for (let tries = 1; (await world.entry("gives-up")).state === "queued"; tries++) {
          assert.ok(tries < 20, "still queued after 20 tries over 5 days");
          givenUpAt = world.clock;
          await world.sender.sendDue();
          world.clock += 6 * 3600 * SECOND;
        }
        const entry = await world.entry("gives-up");
        assert.equal(entry.state, "failed");
        assert.equal(givenUpAt - START, 72 * 3600 * SECOND, "given up at the first try after 3 days, not before");
        assert.match(entry.lastError ?? "", /^given up after \d+ tries over 3 days: the SMTP server .* refused the connection/);
      } finally {
        await world.close();
      }
    });

    test("STARTTLS to a relay whose certificate the site's CA signed works with [mail] ca, and is refused without it", async () => {
      const smtp = await startSmtp({ tls: { mode: "starttls", cert: certs.cert, key: certs.key } });
      const trusting = await MailWorld.start(dialect, mailSettings(smtp.port, { security: "starttls", ca: certs.caFile }));
      const untrusting = await MailWorld.start(dialect, mailSettings(smtp.port, { security: "starttls" }));
      try {
        await trusting.enqueue(mail("with-ca"));
        assert.equal((await trusting.sender.sendDue()).sent, 1);
        const [got] = await smtp.waitFor(1);
        assert.equal(got!.secure, true, "it went over TLS");

        await untrusting.enqueue(mail("without-ca"));
        assert.equal((await untrusting.sender.sendDue()).retrying, 1);
        const entry = await untrusting.entry("without-ca");
        assert.match(entry.lastError ?? "", /TLS certificate is not trusted .*give that CA's PEM file as \[mail\] ca/);
        assert.equal(smtp.received.length, 1);
      } finally {
        await trusting.close();
        await untrusting.close();
        await smtp.stop();
      }
    });

    test("security = starttls never sends in plain text to a relay that offers no STARTTLS; tls speaks TLS from the first byte", async () => {
      const plain = await startSmtp();
      const tls = await startSmtp({ tls: { mode: "tls", cert: certs.cert, key: certs.key } });
      const demanding = await MailWorld.start(dialect, mailSettings(plain.port, { security: "starttls" }));
      const implicit = await MailWorld.start(dialect, mailSettings(tls.port, { security: "tls", ca: certs.caFile }));
      try {
        await demanding.enqueue(mail("no-starttls"));
        assert.equal((await demanding.sender.sendDue()).retrying, 1);
        assert.match((await demanding.entry("no-starttls")).lastError ?? "", /STARTTLS/);
        assert.equal(plain.received.length, 0);

        await implicit.enqueue(mail("implicit-tls"));
        assert.equal((await implicit.sender.sendDue()).sent, 1);
        const [got] = await tls.waitFor(1);
        assert.equal(got!.secure, true);
      } finally {
        await demanding.close();
        await implicit.close();
        await plain.stop();
        await tls.stop();
      }
    });

    test("a login is made with [mail] user and password; a wrong password is named as the problem, never shown", async () => {
      const password = "s3cret-Passw0rd!";
      const smtp = await startSmtp({ tls: { mode: "starttls", cert: certs.cert, key: certs.key }, login: { user: "vgrid", password } });
      const right = await MailWorld.start(dialect, mailSettings(smtp.port, { security: "starttls", ca: certs.caFile, user: "vgrid", password }));
      const wrong = await MailWorld.start(dialect, mailSettings(smtp.port, { security: "starttls", ca: certs.caFile, user: "vgrid", password: `${password}-old` }));
      try {
        await right.enqueue(mail("logged-in"));
        assert.equal((await right.sender.sendDue()).sent, 1);
        const [got] = await smtp.waitFor(1);
        assert.equal(got!.user, "vgrid");

        await wrong.enqueue(mail("wrong-password"));
        assert.equal((await wrong.sender.sendDue()).retrying, 1);
        const res = await wrong.server.call(wrong.admin, "GET", "/outbox");
        assert.match(res.body, /refused the login of vgrid .*535.*check \[mail\] user and password/);
        assert.ok(!res.body.includes(password), "the password is nowhere in /outbox");
        assert.ok(!res.body.includes(Buffer.from(`\u0000vgrid\u0000${password}-old`).toString("base64")));
      } finally {
        await right.close();
        await wrong.close();
        await smtp.stop();
      }
    });

    test("a server started with [mail] sends a queued mail by its own loop within seconds, and stops cleanly", async () => {
      const smtp = await startSmtp();
      const store = await testDatabase(dialect, dir);
      const config = buildServerConfig(
        { listen: { host: "127.0.0.1", port: 0 }, database: store.database, admins: ["root-admin"], mail: mailSettings(smtp.port) },
        { file: "mail server.toml", dir },
      );
      const running = await startServer(config, { logLevel: "silent" });
      try {
        await running.ctx.writes.run((tx) => enqueueMail(tx, mail("by-the-loop"), running.ctx.now()));
        const [got] = await smtp.waitFor(1, 15_000);
        assert.equal(got!.parsed.subject, "About by-the-loop");
      } finally {
        const stopping = Date.now();
        await running.close();
        assert.ok(Date.now() - stopping < 5000, `closing took ${Date.now() - stopping} ms`);
        await store.drop();
        await smtp.stop();
      }
    });

    test("without [mail] nothing is sent: the admin-terminated mail waits, queued, in the outbox", async () => {
      const world = await MailWorld.start(dialect, undefined);
      try {
        await world.server.bringNodeOnline();
        const vm = await world.server.deploy(await world.server.tokenFor("alice"));
        assert.equal((await world.server.call(world.admin, "DELETE", `/vms/${vm.id}`, { reason: "the lab closes" })).statusCode, 202);
        assert.deepEqual(await world.sender.sendDue(), { sent: 0, retrying: 0, failed: 0 });
        const [entry] = await world.outbox();
        assert.deepEqual([entry!.kind, entry!.state, entry!.attempts, entry!.to], ["admin-terminated", "queued", 0, "alice@localhost"]);
      } finally {
        await world.close();
      }
    });
  });
}

// The lifecycle policies on real QEMU with the tiny image, the real clock (short durations in a
// server.toml, a pass every second) and a real SMTP server: a VM whose expiry comes gets its warning,
// is stopped at expiry with its disk kept (grace), and the one-click link of its mail starts it again
// from that disk; one left expired is terminated after the grace, its disk gone from the node, and its
// owner told; a guest that stops answering (its QEMU sent SIGSTOP) is not failed, and gives exactly one
// not-responding mail and, once it is let go on, one responding-again mail. Every QEMU is reaped.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Vm, VmHistoryEntry } from "../../src/core/api.js";
import { eventually, processesMentioning, sshKeygen, sshRun, zombies } from "../support/processes.js";
import { freePort, startSmtp, type ReceivedMail, type TestSmtp } from "../support/smtp.js";
import { Api, cleanUp, createToken, startUp, tempDir, type Up } from "../support/vgrid.js";

const GRACE_SECONDS = 36; // graceHours = 0.01
let up: Up | undefined;
let smtp: TestSmtp;
let keysDir: string;
let configDir: string;

before(async () => {
  smtp = await startSmtp();
  keysDir = await tempDir("keys");
  configDir = await tempDir("lifecycle");
  const config = join(configDir, "server.toml");
  await writeFile(
    config,
    [
      `[expiry]`,
      `warnings = ["25s"]`,
      `graceHours = ${GRACE_SECONDS / 3600}`,
      `[liveness]`,
      `mailAfter = "5s"`,
      `[policy]`,
      `interval = "1s"`,
      `[mail]`,
      `host = "127.0.0.1"`,
      `port = ${smtp.port}`,
      `security = "none"`,
      `from = "vgrid <vgrid@localhost>"`,
      "",
    ].join("\n"),
  );
  up = await startUp({ maxVms: 3, config, listen: `127.0.0.1:${await freePort()}` });
});

after(async () => {
  await cleanUp(up?.proc, up?.dataDir);
  await cleanUp(undefined, keysDir);
  await cleanUp(undefined, configDir);
  await smtp?.stop();
});

/** The mails of one kind about one VM that have arrived so far. */
function mailsAbout(vm: Vm, kind: string): ReceivedMail[] {
  return smtp.received.filter((m) => m.header("x-vgrid-kind") === kind && (m.parsed.text ?? "").includes(vm.name));
}

test("expiry warns, stops with the disk kept, the mail's link revives it, the grace ends in termination; a frozen guest gives one mail and one when it answers again", async () => {
  const { privateKey, publicKey } = await sshKeygen(keysDir, "alice");
  const alice = new Api(up!.url, await createToken(up!.dataDir, "alice"));
  const admin = new Api(up!.url, up!.adminToken);
  assert.equal((await alice.call("PUT", "/me/ssh-keys", { keys: [publicKey] })).status, 200);
  const ssh = async (v: Vm, command: string) => (await sshRun(privateKey, v.ssh!.host, v.ssh!.port, command)).trim();
  const until = (what: string, id: string, matches: (v: Vm) => boolean, ms = 240_000) =>
    eventually(what, ms, async () => {
      const now = await alice.vm(id);
      return matches(now) ? now : undefined;
    }, 250);
  const vmsDir = join(up!.dataDir, "node", "vms");

  const deployed = await Promise.all([0, 1, 2].map(async () => alice.waitReady((await alice.deploy({ image: "tiny" })).id)));
  const [kept, ended, frozen] = deployed as [Vm, Vm, Vm];
  await ssh(kept, "echo kept-through-grace > /var/lib/vgrid/note && sync");

  // The admin brings both expiries to within a minute; the 25 s warning comes first, once each.
  const soon = new Date(Date.now() + 40_000).toISOString();
  for (const vm of [kept, ended]) {
    const set = await admin.call<Vm>("PATCH", `/vms/${vm.id}`, { expiresAt: soon });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  }

  // The frozen guest: QEMU stopped with SIGSTOP is paused, not dead: it answers nothing, and is not failed.
  const [frozenPid] = await processesMentioning(join(vmsDir, frozen.id));
  assert.ok(frozenPid !== undefined, "the frozen VM's QEMU is found");
  process.kill(frozenPid, "SIGSTOP");
  const silent = await until("the frozen guest to be seen not responding", frozen.id, (v) => !v.responding, 120_000);
  assert.equal(silent.state, "running", "a paused QEMU is not a failed VM");
  await eventually("the not-responding mail", 120_000, async () => mailsAbout(frozen, "not-responding").length > 0 || undefined);
  process.kill(frozenPid, "SIGCONT");
  await until("the guest to answer again", frozen.id, (v) => v.responding, 120_000);
  await eventually("the responding-again mail", 120_000, async () => mailsAbout(frozen, "responding-again").length > 0 || undefined);

  // At expiry both are stopped and kept (state expired), each with its warning and its expired mail.
  for (const vm of [kept, ended]) {
    const expired = await until(`VM ${vm.name} to be stopped at expiry`, vm.id, (v) => v.state === "expired" && v.transition === null, 180_000);
    assert.deepEqual([expired.responding, expired.ssh], [false, null]);
    assert.deepEqual(await processesMentioning(join(vmsDir, vm.id)), [], "no QEMU runs an expired VM");
    assert.ok(existsSync(join(vmsDir, vm.id, "overlay.qcow2")), "its disk is kept through the grace");
    await eventually(`the expired mail of ${vm.name}`, 60_000, async () => mailsAbout(vm, "expired").length > 0 || undefined);
    assert.equal(mailsAbout(vm, "expiry-warning").length, 1, "one warning, at 25 s before");
  }

  // The expired mail's one-click link: its page changes nothing, its button extends and starts the VM again.
  const [expiredMail] = mailsAbout(kept, "expired");
  const link = new RegExp(`${up!.url.replace(/[.]/g, "\\.")}/extend/\\S+`).exec(expiredMail!.parsed.text ?? "")?.[0];
  assert.ok(link, `the expired mail carries the extend link: ${expiredMail!.parsed.text}`);
  const page = await fetch(link);
  assert.equal(page.status, 200);
  assert.equal((await alice.vm(kept.id)).state, "expired", "opening the link changes nothing");
  const pressed = await fetch(link, { method: "POST", redirect: "manual" });
  assert.ok(pressed.status < 400, `the button extends: ${pressed.status} ${await pressed.text()}`);
  const revived = await alice.waitReady(kept.id);
  assert.ok(Date.parse(revived.expiresAt!) > Date.now() + 3600_000, "extended by the image's default lifetime");
  assert.equal(await ssh(revived, "cat /var/lib/vgrid/note"), "kept-through-grace", "started again from its own disk");
  assert.equal((await fetch(link, { method: "POST", redirect: "manual" })).status, 410, "the link works once");

  // The other one's grace runs out: the policy terminates it, its disk goes from the node, its owner is told.
  const gone = await until("the grace to end in termination", ended.id, (v) => v.state === "terminated", (GRACE_SECONDS + 120) * 1000);
  assert.equal(gone.terminatedBy, "policy:expiry");
  await eventually("the node to delete its disk", 60_000, async () => !existsSync(join(vmsDir, ended.id)) || undefined);
  await eventually("the terminated mail", 60_000, async () => mailsAbout(ended, "terminated").length > 0 || undefined);
  const history = (await alice.call<{ items: VmHistoryEntry[] }>("GET", `/vms/${ended.id}/history`)).body.items;
  assert.deepEqual(history.filter((e) => e.state === "terminating").map((e) => e.by), ["policy:expiry"], `terminated once, by the policy: ${JSON.stringify(history)}`);

  // Each mail arrived once: no key was sent twice, nor the frozen VM's mails repeated while it was silent.
  const ids = smtp.received.map((m) => m.header("message-id"));
  assert.equal(new Set(ids).size, ids.length, `no mail twice: ${ids.join(" ")}`);
  assert.deepEqual([mailsAbout(frozen, "not-responding").length, mailsAbout(frozen, "responding-again").length], [1, 1]);
  assert.equal(mailsAbout(kept, "expiry-warning").length, 1);

  await alice.terminateAndWait(kept.id);
  await alice.terminateAndWait(frozen.id);
  assert.deepEqual(await processesMentioning(vmsDir), [], "no QEMU is left");
  assert.deepEqual(await zombies({ ppid: up!.proc.child.pid! }), [], "vgrid reaped every QEMU");
});

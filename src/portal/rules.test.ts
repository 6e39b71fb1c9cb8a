import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleVm } from "../../test/support/fixtures.js";
import type { Host, Image, Vm } from "../core/api.js";
import {
  applyVmEvent,
  capacityWords,
  connectLater,
  checkSshKey,
  cpuChoices,
  deployBlocked,
  deployRefusal,
  deployStep,
  describeKey,
  expiresIn,
  extendChoices,
  extendRoomHours,
  hostBars,
  lifetimeChoices,
  memoryChoices,
  nearestAllowed,
  powerActions,
  powerProgress,
  preferredExtension,
  printableLog,
  quotaAfterDeploy,
  reasonRequired,
  STATE_WORDS,
  stateTone,
  type Quota,
} from "./rules.js";

const image: Image = { tag: "tiny", name: "Tiny", description: null, boot: "direct", minMemoryMiB: 128, defaultMemoryMiB: 256, maxMemoryMiB: 2048, maxCpus: 4 };
const unlimited: Quota = { maxVms: null, used: 0, maxMemoryMiB: null, usedMemoryMiB: 0, maxCpus: null, usedCpus: 0 };
const now = new Date("2030-01-01T12:00:00Z");
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJCxJ4uFcZVE/HaXWWIwIPL++vq5cFxBz27ZClYZEhfi ada@laptop";

test("memory sizes run from the image's minimum to its maximum, the default marked, none over the quota", () => {
  assert.deepEqual(
    memoryChoices(image, unlimited).map((c) => [c.value, c.label, c.disabled]),
    [
      [128, "128 MiB", null],
      [256, "256 MiB (default)", null],
      [512, "512 MiB", null],
      [1024, "1 GiB", null],
      [2048, "2 GiB", null],
    ],
  );
  const tight = memoryChoices(image, { ...unlimited, maxMemoryMiB: 1024, usedMemoryMiB: 512 });
  assert.deepEqual(
    tight.filter((c) => c.disabled).map((c) => [c.value, c.disabled]),
    [
      [1024, "more than the 512 MiB left of your memory quota"],
      [2048, "more than the 512 MiB left of your memory quota"],
    ],
  );
});

test("cpus over what is left of the quota are disabled with the reason", () => {
  const choices = cpuChoices(image, { ...unlimited, maxCpus: 4, usedCpus: 2 });
  assert.deepEqual(
    choices.map((c) => [c.value, c.disabled !== null]),
    [
      [1, false],
      [2, false],
      [3, true],
      [4, true],
    ],
  );
  assert.match(choices[2]!.disabled!, /2 left of your cpu quota/);
});

test("a full quota blocks a deploy, in words that say what to do", () => {
  assert.equal(deployBlocked(unlimited), null);
  assert.match(deployBlocked({ ...unlimited, maxVms: 2, used: 2 })!, /2 of your 2 VMs: terminate one/);
});

test("the quota summary says what is used, what this VM adds and what is left", () => {
  const [vms, memory] = quotaAfterDeploy({ ...unlimited, maxVms: 3, used: 1, maxMemoryMiB: 2048, usedMemoryMiB: 512 }, 256, 1);
  assert.equal(vms!.words, "1 VM in use + 1 VM for this one, of 3 VMs; 1 VM free after");
  assert.equal(memory!.words, "512 MiB in use + 256 MiB for this one, of 2 GiB; 1280 MiB free after");
});

test("lifetimes stay within the policy, with its default and its maximum", () => {
  const choices = lifetimeChoices({ defaultHours: 24, maxHours: 72 });
  assert.deepEqual(
    choices.map((c) => c.label),
    ["1 hour", "4 hours", "8 hours", "1 day (default)", "3 days (most allowed)"],
  );
});

test("an extension adds to the later of now and the expiry, and never passes maxHours from now", () => {
  const limits = { defaultHours: 24, maxHours: 48 };
  const in40h = { expiresAt: new Date(now.getTime() + 40 * 3_600_000).toISOString() };
  assert.equal(extendRoomHours(in40h, limits, now), 8);
  const choices = extendChoices(in40h, limits, now);
  assert.deepEqual(
    choices.map((c) => [c.value, c.disabled === null]),
    [
      [1, true],
      [4, true],
      [24, false],
    ],
  );
  assert.equal(extendRoomHours({ expiresAt: "2029-12-31T00:00:00Z" }, limits, now), 48, "an expired VM counts from now");
  assert.equal(extendRoomHours({ expiresAt: null }, limits, now), null);
});

test("a new VM's steps: booting, then ssh starting, then ready", () => {
  assert.equal(deployStep({ state: "pending", responding: false }), 1);
  assert.equal(deployStep({ state: "running", responding: false }), 2);
  assert.equal(deployStep({ state: "running", responding: true }), 3);
  assert.equal(deployStep({ state: "failed", responding: false }), -1);
});

test("an admin gives a reason only for another's VM", () => {
  assert.equal(reasonRequired({ username: "root", admin: true }, { owner: "ada" }), true);
  assert.equal(reasonRequired({ username: "root", admin: true }, { owner: "root" }), false);
  assert.equal(reasonRequired({ username: "ada", admin: false }, { owner: "ada" }), false);
});

test("a pasted key is checked as it is typed: a good one, named; a private, cut or foreign one refused", () => {
  assert.deepEqual(checkSshKey(`  ${ED25519}\n`), { key: ED25519 });
  assert.deepEqual(checkSshKey(ED25519, "work laptop"), { key: ED25519.replace("ada@laptop", "work laptop") });
  assert.match((checkSshKey("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn") as { problem: string }).problem, /private key/);
  assert.match((checkSshKey(ED25519.slice(0, 40)) as { problem: string }).problem, /cut or altered/);
  assert.match((checkSshKey(ED25519.replace("ssh-ed25519", "ssh-rsa")) as { problem: string }).problem, /not a whole ssh-rsa key/);
  assert.match((checkSshKey("hello world") as { problem: string }).problem, /Not an OpenSSH public key/);
  assert.match((checkSshKey(`${ED25519}\n${ED25519}`) as { problem: string }).problem, /One key at a time/);
  assert.deepEqual(describeKey(ED25519), { type: "ssh-ed25519", name: "ada@laptop", tail: "…z27ZClYZEhfi" });
});

test("an event updates a list in place, adds a new VM that matches, and drops one that no longer does", () => {
  const a = sampleVm({ id: "a", state: "running" });
  const b = sampleVm({ id: "b", state: "pending" });
  assert.deepEqual(applyVmEvent([a], b, {}).map((v) => v.id), ["b", "a"]);
  assert.equal(applyVmEvent([a, b], { ...b, state: "running" }, {})[1]!.state, "running");
  assert.deepEqual(applyVmEvent([a, b], { ...a, state: "terminated" }, {}).map((v) => v.id), ["b"], "a terminated VM leaves My VMs");
  assert.deepEqual(applyVmEvent([a], { ...b, owner: "someone-else" }, { owner: a.owner }).map((v) => v.id), ["a"]);
  assert.deepEqual(applyVmEvent([], { ...a, state: "terminated" }, { state: "terminated" }).map((v) => v.id), ["a"]);
});

test("a host's bars say what is used of what it has", () => {
  const host = { name: "h1", vms: 3, maxVms: 10, usedMemoryMiB: 1536, memoryMiB: 8192, usedCpus: 3, cpus: 16 } as Host;
  assert.deepEqual(
    hostBars(host).map((b) => b.words),
    ["3 of 10 VMs", "1536 MiB of 8 GiB", "3 of 16 cpus"],
  );
  assert.deepEqual(
    hostBars({ ...host, usedMemoryMiB: 0, memoryMiB: 96_420 }).map((b) => b.words)[1],
    "0 MiB of 94.2 GiB",
  );
});

test("a guest's console output is shown as text: escape sequences and control characters go", () => {
  assert.equal(printableLog("\u001b[1;31mred\u001b[0m ok\r\nnext\u0007\u001b]0;title\u0007 end"), "red ok\nnext end");
});

test("of two copies of a VM, the later one wins, whichever arrives last", () => {
  const terminated = sampleVm({ id: "a", state: "terminated", updatedAt: "2030-01-01T00:00:02.000Z" });
  const terminatingAnswer = { ...terminated, state: "terminating" as const, updatedAt: "2030-01-01T00:00:01.000Z" };
  assert.deepEqual(applyVmEvent([], terminated, {}), [], "a terminated VM is not in My VMs");
  assert.deepEqual(applyVmEvent([{ ...terminated, state: "running" }], terminated, {}), []);
  const stale = applyVmEvent([{ ...terminatingAnswer, updatedAt: "2030-01-01T00:00:03.000Z", state: "running" }], terminatingAnswer, {});
  assert.equal(stale[0]!.state, "running", "an older copy changes nothing");
});

test("the size picked is the nearest allowed, and an image too big for what is left cannot be deployed at all", () => {
  const quota = { ...unlimited, maxMemoryMiB: 1024, usedMemoryMiB: 512 };
  assert.equal(nearestAllowed(memoryChoices(image, quota), 2048), 512);
  assert.equal(nearestAllowed(memoryChoices(image, quota), 64), 128);
  const big = { ...image, minMemoryMiB: 1024, defaultMemoryMiB: 1024 };
  assert.match(deployRefusal(quota, memoryChoices(big, quota), cpuChoices(big, quota))!, /Even its smallest size is more than the 512 MiB left/);
  assert.equal(deployRefusal(unlimited, memoryChoices(image, unlimited), cpuChoices(image, unlimited)), null);
});

test("the extension offered first is the policy's default when it fits, else the longest that does", () => {
  const limits = { defaultHours: 24, maxHours: 48 };
  assert.equal(preferredExtension(extendChoices({ expiresAt: now.toISOString() }, limits, now), limits), 24);
  assert.equal(preferredExtension(extendChoices({ expiresAt: new Date(now.getTime() + 40 * 3_600_000).toISOString() }, limits, now), limits), 4);
  assert.equal(preferredExtension(extendChoices({ expiresAt: new Date(now.getTime() + 48 * 3_600_000).toISOString() }, limits, now), limits), undefined);
});

for (const [expiresAt, expected] of [
  [null, "never"],
  ["2030-01-01T11:00:00Z", "expired"],
  ["2030-01-01T12:10:00Z", "in 10 min"],
  ["2030-01-01T15:00:00Z", "in 3 h"],
  ["2030-01-01T15:05:00Z", "in 3 h 5 min"],
  ["2030-01-02T12:00:00Z", "in 1 day"],
  ["2030-01-03T16:00:00Z", "in 2 days 4 h"],
] as const) {
  test(`expiresIn(${expiresAt}) is '${expected}'`, () => {
    assert.equal(expiresIn(expiresAt, now), expected);
  });
}

test("full hosts block a deploy even without a quota, and the room left is said beside the quota", () => {
  assert.match(deployBlocked(unlimited, 0)!, /hosts are full/);
  assert.equal(deployBlocked(unlimited, 2), null);
  assert.equal(capacityWords(1), "The hosts have room for 1 more VM (for everyone).");
});

test("the VM's page offers Start, Reboot and Stop as its state allows, none while its node works on one", () => {
  const rows: Array<[Partial<Vm>, string[]]> = [
    [{ state: "running" }, ["reboot", "stop"]],
    [{ state: "provisioning" }, ["stop"]],
    [{ state: "stopped" }, ["start"]],
    // Extending an expired VM starts it: no Start button of its own.
    [{ state: "expired" }, []],
    [{ state: "failed" }, []],
    [{ state: "terminating" }, []],
    [{ state: "stopped", transition: "stopping" }, []],
    [{ state: "running", transition: "rebooting" }, []],
  ];
  for (const [fields, expected] of rows) assert.deepEqual(powerActions(sampleVm(fields)), expected, JSON.stringify(fields));
});

test("progress while the node stops or reboots a VM, and a busy badge meanwhile", () => {
  assert.match(powerProgress(sampleVm({ state: "stopped", transition: "stopping" })) ?? "", /^Stopping/);
  assert.match(powerProgress(sampleVm({ state: "running", transition: "rebooting" })) ?? "", /^Rebooting/);
  assert.equal(powerProgress(sampleVm({ state: "stopped" })), null);
  assert.equal(stateTone("stopped", "stopping"), "busy");
  assert.equal(stateTone("stopped"), "idle");
  assert.equal(stateTone("expired"), "idle");
  assert.match(STATE_WORDS.stopped!, /disk/);
  assert.match(STATE_WORDS.expired!, /Extend/);
});

test("a VM that cannot be reached says what would make it reachable", () => {
  assert.equal(connectLater("stopped"), "start it to connect");
  assert.equal(connectLater("expired"), "extend it to start it");
  assert.equal(connectLater("terminated"), "—");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { buildServerConfig } from "./config.js";

const source = { file: "server.toml", dir: "/srv/vgrid" };

test("quotas and rate limits: defaults, per-user tables by normalised name", () => {
  const defaults = buildServerConfig({}, source);
  assert.deepEqual(defaults.rateLimit, { deploysPerUserPerMinute: 60, loginFailuresPerUserPerMinute: 5, loginFailuresPerAddressPerMinute: 20 });
  assert.deepEqual({ ...defaults.quota, users: [...defaults.quota.users] }, { maxVmsPerUser: null, maxMemoryMiBPerUser: null, maxCpusPerUser: null, users: [] });
  const c = buildServerConfig(
    { quota: { maxVmsPerUser: 2, maxCpusPerUser: 8, users: { "Jane Doe": { maxVms: 10, maxMemoryMiB: 4096 } } }, rateLimit: { loginFailuresPerAddressPerMinute: 0 } },
    source,
  );
  assert.deepEqual(c.quota.users.get("Jane_Doe"), { maxVms: 10, maxMemoryMiB: 4096 });
  assert.equal(c.rateLimit.loginFailuresPerAddressPerMinute, 0);
  assert.equal(c.rateLimit.deploysPerUserPerMinute, 60);
});

test("bad quota and rate limit settings are refused naming the file and the key", () => {
  const rows: Array<[string, unknown, string]> = [
    ["a misspelt user limit", { quota: { users: { alice: { maxVmz: 3 } } } }, "server.toml: quota.users.alice.maxVmz: unknown key"],
    ["a negative limit", { quota: { maxMemoryMiBPerUser: -1 } }, "server.toml: quota.maxMemoryMiBPerUser"],
    ["a limit as text", { quota: { users: { bob: { maxCpus: "4" } } } }, "server.toml: quota.users.bob.maxCpus"],
    ["a username that is none", { quota: { users: { "../etc": { maxVms: 1 } } } }, "server.toml: quota.users.../etc: username"],
    ["one user twice", { quota: { users: { "a b": { maxVms: 1 }, a_b: { maxVms: 2 } } } }, "given twice"],
    ["a negative rate", { rateLimit: { deploysPerUserPerMinute: -5 } }, "server.toml: rateLimit.deploysPerUserPerMinute"],
    ["a fractional rate", { rateLimit: { loginFailuresPerUserPerMinute: 1.5 } }, "server.toml: rateLimit.loginFailuresPerUserPerMinute"],
    ["an unknown rate", { rateLimit: { loginsPerMinute: 5 } }, "server.toml: rateLimit.loginsPerMinute: unknown key"],
  ];
  for (const [why, input, words] of rows) {
    assert.throws(() => buildServerConfig(input, source), (err: Error) => err.message.includes(words), `${why}: should say '${words}'`);
  }
});

test("an [[images]] entry's description is optional, and one too long is refused naming the key", () => {
  const image = { tag: "t", name: "T", disk: "t.qcow2" };
  const c = buildServerConfig({ images: [{ ...image, description: "for the course" }, { ...image, tag: "u" }] }, source);
  assert.deepEqual(c.images.map((i) => i.description), ["for the course", null]);
  assert.throws(
    () => buildServerConfig({ images: [{ ...image, description: "x".repeat(1001) }] }, source),
    /server\.toml: images\[0\]\.description: must not have more than 1000 characters/,
  );
});

test("the policies' durations are read with their units, warnings longest first, each once", () => {
  const c = buildServerConfig({ expiry: { warnings: ["1h", "72h", "90m", "1h"], graceHours: 48 }, liveness: { mailAfter: "45s" }, policy: { interval: "2m" } }, source);
  assert.deepEqual(c.expiry.warningsSeconds, [72 * 3600, 5400, 3600]);
  assert.equal(c.expiry.graceHours, 48);
  assert.deepEqual(c.liveness, { mailAfterSeconds: 45, notifyAdmins: false });
  assert.deepEqual(c.policy, { intervalSeconds: 120 });
  const defaults = buildServerConfig({}, source);
  assert.deepEqual(defaults.expiry.warningsSeconds, [72 * 3600, 24 * 3600, 3600]);
  assert.equal(defaults.liveness.mailAfterSeconds, 1800);
  assert.equal(defaults.mail, undefined);
  assert.throws(() => buildServerConfig({ expiry: { warnings: ["3 days"] } }, source), /expiry\.warnings/);
  assert.throws(() => buildServerConfig({ mail: { host: "smtp.example.org", from: "vgrid <v@example.org>", userAddress: "someone@example.org" } }, source), /mail\.userAddress/);
});

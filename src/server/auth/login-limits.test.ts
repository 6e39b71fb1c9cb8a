import assert from "node:assert/strict";
import { test } from "node:test";
import { loginLimits } from "./login-limits.js";

test("an account that failed 5 times in a minute waits until its oldest failure is a minute old, no longer", () => {
  let now = 1_000_000;
  const limits = loginLimits(5, 20, () => now);
  for (let i = 0; i < 5; i++) {
    limits.check("alice", "10.0.0.1");
    limits.fail("alice", "10.0.0.1");
    now += 1000;
  }
  assert.throws(() => limits.check("alice", "10.0.0.2"), (err: { retryAfterSeconds: number; status: number }) => err.status === 429 && err.retryAfterSeconds === 55);
  limits.check("bob", "10.0.0.1"); // another account from the same address: 5 of 20
  now += 55_000;
  limits.check("alice", "10.0.0.1"); // the first failure is a minute old: one more try
  limits.fail("alice", "10.0.0.1");
  assert.throws(() => limits.check("alice", "10.0.0.1"), /too many failed logins/);
});

test("an address that failed 20 times in a minute, over many accounts, waits too; 0 turns a limit off", () => {
  const now = 5_000_000;
  const limits = loginLimits(5, 20, () => now);
  for (let i = 0; i < 20; i++) limits.fail(`user${i}`, "10.9.9.9");
  assert.throws(() => limits.check("someone", "10.9.9.9"), /this address/);
  limits.check("someone", "10.9.9.8");
  const off = loginLimits(0, 0, () => now);
  for (let i = 0; i < 100; i++) off.fail("alice", "10.0.0.1");
  off.check("alice", "10.0.0.1");
});

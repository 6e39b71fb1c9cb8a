import assert from "node:assert/strict";
import { test } from "node:test";
import { expiryStep, extendedExpiry, firstPolicyAt, type ExpiryStep } from "./expiry.js";

const NOW = new Date("2026-12-02T12:00:00Z");
const inHours = (h: number) => new Date(NOW.getTime() + h * 3600_000);

test("extending adds the hours to the later of the expiry and now, within maxHours from now", () => {
  const rows: Array<{ why: string; expires: number; hours: number; max: number; want: { at: number } | { most: number } }> = [
    { why: "two days left plus two hours is never two hours", expires: 48, hours: 2, max: 336, want: { at: 50 } },
    { why: "an expiry in the past counts from now", expires: -5, hours: 2, max: 336, want: { at: 2 } },
    { why: "exactly up to the policy", expires: 10, hours: 62, max: 72, want: { at: 72 } },
    { why: "beyond the policy: the hours left", expires: 10, hours: 63, max: 72, want: { most: 62 } },
    { why: "from now when expired, beyond the policy", expires: -1, hours: 80, max: 72, want: { most: 72 } },
    { why: "fractions of hours are floored to hundredths", expires: 71.995, hours: 1, max: 72, want: { most: 0 } },
    { why: "an expiry an admin set beyond the policy: nothing more now", expires: 100, hours: 1, max: 72, want: { most: 0 } },
  ];
  for (const row of rows) {
    const got = extendedExpiry(inHours(row.expires), NOW, row.hours, row.max);
    const want = "at" in row.want ? { expiresAt: inHours(row.want.at) } : { mostHours: row.want.most };
    assert.deepEqual(got, want, row.why);
  }
});

const H = 3600;
const WARNINGS = [72 * H, 24 * H, 1 * H];

test("a VM's first policy look is its first warning still to come, else its expiry", () => {
  assert.deepEqual(firstPolicyAt(inHours(100), NOW, WARNINGS), inHours(28), "72 h before");
  assert.deepEqual(firstPolicyAt(inHours(48), NOW, WARNINGS), inHours(24), "72 h has passed: 24 h before");
  assert.deepEqual(firstPolicyAt(inHours(24), NOW, WARNINGS), inHours(23), "a 24 h VM is not warned at once that it has 24 h");
  assert.deepEqual(firstPolicyAt(inHours(0.5), NOW, WARNINGS), inHours(0.5), "no warning left: its expiry");
  assert.deepEqual(firstPolicyAt(inHours(5), NOW, []), inHours(5), "no warnings at all");
});

test("the expiry policy's next step, row by row", () => {
  const rows: Array<{ why: string; expires: number; policy: number; warned?: number; now: number; want: ExpiryStep }> = [
    { why: "before its first warning: wait", expires: 100, policy: 28, now: 10, want: { kind: "wait", next: inHours(28) } },
    { why: "the 72 h warning is due", expires: 100, policy: 28, now: 28, want: { kind: "warn", seconds: 72 * H, expiresAt: inHours(100), late: false, next: inHours(76) } },
    { why: "a late pass sends only the latest due warning", expires: 100, policy: 28, now: 80, want: { kind: "warn", seconds: 24 * H, expiresAt: inHours(100), late: false, next: inHours(99) } },
    { why: "after the last warning, the expiry", expires: 100, policy: 99, now: 99.5, want: { kind: "warn", seconds: H, expiresAt: inHours(100), late: false, next: inHours(100) } },
    { why: "at expiry, warned: expire", expires: 100, policy: 100, warned: 100, now: 100, want: { kind: "expire" } },
    { why: "a short VM that no warning could reach expires at its time", expires: 0.5, policy: 0.5, now: 0.5, want: { kind: "expire" } },
    { why: "never before what the last warning said (an admin moved it earlier)", expires: 50, policy: 50, warned: 100, now: 60, want: { kind: "wait", next: inHours(100) } },
    { why: "the last warning's time reached: expire", expires: 50, policy: 100, warned: 100, now: 100, want: { kind: "expire" } },
    { why: "a warning due and never sent (the server was down): warned now, the expiry moved", expires: 100, policy: 99, now: 101, want: { kind: "warn", seconds: H, expiresAt: inHours(102), late: true, next: inHours(102) } },
    { why: "settings changed, nothing due: wait for the next", expires: 100, policy: 50, now: 60, want: { kind: "wait", next: inHours(76) } },
  ];
  for (const row of rows) {
    const got = expiryStep({
      expiresAt: inHours(row.expires),
      policyAt: inHours(row.policy),
      warnedExpiresAt: row.warned === undefined ? null : inHours(row.warned),
      now: inHours(row.now),
      warningsSeconds: WARNINGS,
    });
    assert.deepEqual(got, row.want, row.why);
  }
});

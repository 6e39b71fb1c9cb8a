import assert from "node:assert/strict";
import { test } from "node:test";
import { extendedExpiry } from "./expiry.js";

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

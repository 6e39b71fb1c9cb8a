import { test } from "node:test";
import assert from "node:assert/strict";
import { formatExpiry, formatTable } from "./output.js";

const now = new Date("2030-01-01T12:00:00Z");

for (const [expiresAt, expected] of [
  [null, "never"],
  ["2030-01-01T11:00:00Z", "expired"],
  ["2030-01-01T12:00:00Z", "expired"],
  ["2030-01-01T12:10:00Z", "in 10m"],
  ["2030-01-01T15:05:00Z", "in 3h05m"],
  ["2030-01-03T16:00:00Z", "in 2d4h"],
  ["garbage", "garbage"],
] as const) {
  test(`formatExpiry(${expiresAt}) is '${expected}'`, () => {
    assert.equal(formatExpiry(expiresAt, now), expected);
  });
}

test("formatTable aligns columns and leaves no trailing blanks", () => {
  const table = formatTable(["ID", "NAME", "STATE"], [["1", "vm-001", "running"], ["22", "vm-2", ""]]);
  assert.equal(table, ["ID  NAME    STATE", "1   vm-001  running", "22  vm-2"].join("\n"));
});

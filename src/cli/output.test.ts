import { test } from "node:test";
import assert from "node:assert/strict";
import { sampleVm } from "../../test/support/fixtures.js";
import { formatVmTable } from "./commands/ls.js";
import { formatExpiry, formatTable, terminalSafe } from "./output.js";

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

test("text from the server never reaches the terminal as an escape sequence", () => {
  assert.equal(terminalSafe("vm-001"), "vm-001");
  assert.equal(terminalSafe("red \u001b[31mALERT\u001b[0m"), "red \\u001b[31mALERT\\u001b[0m");
  assert.equal(terminalSafe("bell\u0007 and C1\u009b"), "bell\\u0007 and C1\\u009b");
  assert.equal(terminalSafe("two\nlines\tand a tab"), "two\nlines\tand a tab");
  const table = formatTable(["NAME", "ERROR"], [["vm-1", "bad\u001b]0;owned\u0007\nsecond line"]]);
  assert.equal(table.split("\n").length, 2, "a cell never breaks the table's lines");
  assert.equal(terminalSafe(table), table, "nothing in it is left to escape");
});

test("an admin's vgrid ls --all has an OWNER column", () => {
  const vms = [sampleVm({ owner: "bob", state: "running" })];
  assert.match(formatVmTable(vms, now, { owner: true }), /^ID\s+NAME\s+OWNER\s+IMAGE\s+STATE/);
  assert.match(formatVmTable(vms, now, { owner: true }), /^7f3c0000\s+vm-003\s+bob\s+tiny\s+running/m);
  assert.doesNotMatch(formatVmTable(vms, now), /OWNER/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { Value } from "typebox/value";

import { MAX_DETAIL_LENGTH, MAX_ERROR_LENGTH, VmReportSchema } from "../core/protocol.js";
import { adminWords, bounded, ownerWords } from "./report-text.js";

test("words are cut to the protocol's maxima, marked, and never split a character", () => {
  const rows: Array<[string, string, number, string]> = [
    ["short text stays", "QEMU exited", 20, "QEMU exited"],
    ["exactly the maximum stays", "abcde", 5, "abcde"],
    ["longer is cut and marked", "abcdefgh", 5, "abcd…"],
    ["a surrogate pair is not split", "abc😀def", 5, "abc…"],
  ];
  for (const [what, text, max, expected] of rows) assert.equal(bounded(text, max), expected, what);
});

test("a report with the longest words a node may send is still valid", () => {
  const error = ownerWords("x".repeat(5000));
  const detail = adminWords("😀".repeat(10_000));
  assert.equal(error?.length, MAX_ERROR_LENGTH);
  assert.ok((detail?.length ?? 0) <= MAX_DETAIL_LENGTH);
  const report = { id: "x", state: "failed", responding: false, sshPort: null, ip: null, error, detail };
  assert.ok(Value.Check(VmReportSchema, report));
  assert.equal(ownerWords(null), null);
});

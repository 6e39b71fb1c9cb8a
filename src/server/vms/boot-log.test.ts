import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_VM_LOG_BYTES } from "../../core/api.js";
import { logText } from "./boot-log.js";

test("the log is the guest's text as it came: bytes that are not UTF-8 replaced, nothing else touched", () => {
  const rows: Array<{ why: string; bytes: Buffer; trimmed: boolean; text: string }> = [
    { why: "plain text with the console's CRLFs and escapes", bytes: Buffer.from("Linux version 6.1\r\n\x1b[32mOK\x1b[0m\r\n"), trimmed: false, text: "Linux version 6.1\r\n\x1b[32mOK\x1b[0m\r\n" },
    { why: "UTF-8 kept", bytes: Buffer.from("café €\n"), trimmed: false, text: "café €\n" },
    { why: "a byte that is not UTF-8", bytes: Buffer.from([0x41, 0xff, 0x42]), trimmed: false, text: "A\uFFFDB" },
    { why: "a byte-order mark the guest printed", bytes: Buffer.from("\uFEFFboot"), trimmed: false, text: "\uFEFFboot" },
    { why: "an untrimmed log that starts badly shows it", bytes: Buffer.from([0x82, 0x41]), trimmed: false, text: "\uFFFDA" },
    { why: "a trimmed log cut inside a character starts at the next one", bytes: Buffer.from("€x").subarray(1), trimmed: true, text: "x" },
  ];
  for (const row of rows) assert.equal(logText(row.bytes, row.trimmed), row.text, row.why);
});

test("never more than MAX_VM_LOG_BYTES, the newest kept, even where replacing grows the text", () => {
  const lines = Buffer.from(Array.from({ length: 150_000 }, (_, i) => `line ${i}\n`).join(""));
  assert.ok(lines.length > MAX_VM_LOG_BYTES);
  const text = logText(lines, true);
  assert.ok(Buffer.byteLength(text) <= MAX_VM_LOG_BYTES);
  assert.ok(text.endsWith("line 149999\n"), "the newest text kept");

  const invalid = Buffer.alloc(MAX_VM_LOG_BYTES, 0xff);
  invalid[invalid.length - 1] = 0x21; // "!"
  const replaced = logText(invalid, false);
  assert.ok(Buffer.byteLength(replaced) <= MAX_VM_LOG_BYTES, `${Buffer.byteLength(replaced)} bytes`);
  assert.match(replaced, /^\uFFFD+!$/, "whole replacement characters, then the newest byte");
});

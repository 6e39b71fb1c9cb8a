import assert from "node:assert/strict";
import { test } from "node:test";

import { retryAfterMs } from "./server-link.js";

test("Retry-After is read as seconds or as an HTTP date, and anything else as not given", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  const rows: Array<[string | undefined, number | undefined]> = [
    ["1", 1000],
    [" 30 ", 30_000],
    ["0", 0],
    ["Tue, 01 Dec 2026 12:00:05 GMT", 5000],
    ["Tue, 01 Dec 2026 11:00:00 GMT", 0],
    [undefined, undefined],
    ["", undefined],
    ["1.5", undefined],
    ["-1", undefined],
    ["soon", undefined],
  ];
  for (const [header, expected] of rows) assert.equal(retryAfterMs(header, now), expected, `Retry-After: ${JSON.stringify(header)}`);
});

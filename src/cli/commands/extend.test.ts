import { test } from "node:test";
import assert from "node:assert/strict";
import { parseExtendArgs } from "./extend.js";

test("extend needs --hours, a positive number", () => {
  assert.deepEqual(parseExtendArgs(["abc", "--hours", "2"]), { id: "abc", hours: 2, json: false });
  assert.throws(() => parseExtendArgs(["abc"]), /--hours is required/);
  assert.throws(() => parseExtendArgs(["abc", "--hours", "0"]), /--hours/);
  assert.throws(() => parseExtendArgs(["--hours", "2"]), /missing ID/);
});

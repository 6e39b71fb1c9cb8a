import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesToTake } from "./console-chunks.js";

test("a chunk adds only what follows the log's end: a retried sync never doubles text, a gap never skips any", () => {
  const rows: Array<{ why: string; end: { stream: string; offset: number } | null; chunk: { stream: string; offset: number; text: string }; taken: string | null }> = [
    { why: "an empty log takes a run's start", end: null, chunk: { stream: "a", offset: 0, text: "Linux version" }, taken: "Linux version" },
    { why: "an empty log does not take a run's middle", end: null, chunk: { stream: "a", offset: 5, text: "version" }, taken: null },
    { why: "the next bytes of the run", end: { stream: "a", offset: 5 }, chunk: { stream: "a", offset: 5, text: "67890" }, taken: "67890" },
    { why: "the same chunk again (its answer was lost)", end: { stream: "a", offset: 10 }, chunk: { stream: "a", offset: 5, text: "67890" }, taken: null },
    { why: "a chunk read again from the old position, longer now", end: { stream: "a", offset: 10 }, chunk: { stream: "a", offset: 5, text: "67890abc" }, taken: "abc" },
    { why: "a chunk past the end: a gap", end: { stream: "a", offset: 10 }, chunk: { stream: "a", offset: 12, text: "cd" }, taken: null },
    { why: "a new run (the VM started again) from its start", end: { stream: "a", offset: 10 }, chunk: { stream: "b", offset: 0, text: "Linux version" }, taken: "Linux version" },
    { why: "a new run from its middle", end: { stream: "a", offset: 10 }, chunk: { stream: "b", offset: 3, text: "ux" }, taken: null },
    { why: "no bytes", end: null, chunk: { stream: "a", offset: 0, text: "" }, taken: null },
  ];
  for (const row of rows) {
    const taken = bytesToTake(row.end, { stream: row.chunk.stream, offset: row.chunk.offset, bytes: Buffer.from(row.chunk.text) });
    assert.equal(taken?.toString() ?? null, row.taken, row.why);
  }
});

test("bytes are counted as bytes, not characters: a retry that overlaps a character's bytes takes exactly the rest", () => {
  const bytes = Buffer.from("é€x"); // 2 + 3 + 1 bytes
  assert.deepEqual(bytesToTake({ stream: "a", offset: 3 }, { stream: "a", offset: 0, bytes }), bytes.subarray(3));
});

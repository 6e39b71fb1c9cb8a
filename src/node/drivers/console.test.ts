import assert from "node:assert/strict";
import { test } from "node:test";

import { CONSOLE_STREAM_PATTERN } from "../../core/protocol.js";
import { newConsoleStream, planConsoleRead } from "./console.js";

test("a console read goes on from a place in the same run, or reads a new run from its start; bounded", () => {
  const rows = [
    { why: "nothing known: the run from its start", run: { stream: "b", size: 100 }, from: null, max: 64, want: { offset: 0, length: 64 } },
    { why: "the rest of the same run", run: { stream: "b", size: 100 }, from: { stream: "b", offset: 40 }, max: 64, want: { offset: 40, length: 60 } },
    { why: "the same run, bounded", run: { stream: "b", size: 1000 }, from: { stream: "b", offset: 40 }, max: 64, want: { offset: 40, length: 64 } },
    { why: "all of it shipped already", run: { stream: "b", size: 100 }, from: { stream: "b", offset: 100 }, max: 64, want: { offset: 100, length: 0 } },
    { why: "a place past the run's end (a file cut short): nothing, not a negative length", run: { stream: "b", size: 10 }, from: { stream: "b", offset: 40 }, max: 64, want: { offset: 40, length: 0 } },
    { why: "a place in an older run: the VM started again, its console written from zero", run: { stream: "c", size: 30 }, from: { stream: "b", offset: 900 }, max: 64, want: { offset: 0, length: 30 } },
    { why: "only where the run is (maxBytes 0)", run: { stream: "b", size: 100 }, from: { stream: "b", offset: 40 }, max: 0, want: { offset: 40, length: 0 } },
  ];
  for (const row of rows) assert.deepEqual(planConsoleRead(row.run, row.from, row.max), row.want, row.why);
});

test("each new run has a name of its own that the protocol accepts", () => {
  const names = new Set(Array.from({ length: 100 }, () => newConsoleStream()));
  assert.equal(names.size, 100);
  for (const name of names) assert.match(name, new RegExp(CONSOLE_STREAM_PATTERN));
});

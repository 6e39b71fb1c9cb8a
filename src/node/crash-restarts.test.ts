import assert from "node:assert/strict";
import { test } from "node:test";

import { CRASH_WINDOW_MS, crashVerdict } from "./crash-restarts.js";

const KILLED = "the VM stopped unexpectedly: QEMU was killed by SIGKILL";
const T0 = Date.parse("2026-12-02T10:00:00Z");
const MINUTE = 60_000;

test("a crashed VM is restarted three times within an hour, then failed as crashing too often", () => {
  let times: number[] = [];
  for (let n = 1; n <= 3; n++) {
    const verdict = crashVerdict(times, T0 + n * MINUTE, KILLED);
    assert.equal(verdict.restart, true, `crash ${n}`);
    if (!verdict.restart) return;
    assert.equal(verdict.words, `restarted at ${new Date(T0 + n * MINUTE).toISOString()} after a crash (restart ${n} of at most 3 an hour): ${KILLED}`);
    times = verdict.times;
  }
  const fourth = crashVerdict(times, T0 + 4 * MINUTE, KILLED);
  assert.deepEqual(fourth, {
    restart: false,
    error: `the VM crashed too often: 4 times within an hour, and its image restarts it at most 3 times an hour (restartOnCrash); the last time: ${KILLED}`,
  });
});

test("restarts older than the hour no longer count", () => {
  const times = [T0, T0 + MINUTE, T0 + 2 * MINUTE];
  const later = crashVerdict(times, T0 + CRASH_WINDOW_MS + 30_000, KILLED);
  assert.equal(later.restart, true, "the first restart is more than an hour old");
  assert.deepEqual(later.restart && later.times, [T0 + MINUTE, T0 + 2 * MINUTE, T0 + CRASH_WINDOW_MS + 30_000]);
  assert.equal(crashVerdict(times, T0 + 59 * MINUTE, KILLED).restart, false, "all three are within the hour");
});

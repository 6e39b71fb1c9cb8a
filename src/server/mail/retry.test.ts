import assert from "node:assert/strict";
import { test } from "node:test";
import { afterFailure, GIVE_UP_AFTER_MS, MAX_RETRY_MS, retryDelayMs } from "./retry.js";

test("a failed mail waits 15 s, then twice as long each time, never more than 5 minutes", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50, 10_000].map(retryDelayMs), [15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000, 300_000]);
  assert.equal(MAX_RETRY_MS, 5 * 60_000);
});

test("a mail is given up only when its next try would fall beyond 3 days, with the reason; a permanent refusal at once", () => {
  const queued = new Date("2026-12-01T00:00:00Z");
  const at = (ms: number) => new Date(queued.getTime() + ms);
  assert.deepEqual(afterFailure(queued, 1, queued, "refused", false), { retryAt: at(15_000) });
  assert.deepEqual(afterFailure(queued, 900, at(GIVE_UP_AFTER_MS - MAX_RETRY_MS), "refused", false), { retryAt: at(GIVE_UP_AFTER_MS) });
  assert.deepEqual(afterFailure(queued, 901, at(GIVE_UP_AFTER_MS - MAX_RETRY_MS + 1), "refused", false), {
    giveUp: "given up after 901 tries over 3 days: refused",
  });
  assert.deepEqual(afterFailure(queued, 1, queued, "550 no such user", true), { giveUp: "550 no such user; not tried again" });
});

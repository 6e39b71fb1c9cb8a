import assert from "node:assert/strict";
import { test } from "node:test";
import { retryWhileBusy } from "./sqlite-dialect.js";

const busy = () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

/** A clock that moves only when the retry pauses: no test waits. */
function fakeTime() {
  let t = 0;
  const pauses: number[] = [];
  return { pauses, now: () => t, pause: async (ms: number) => void (pauses.push(ms), (t += ms)) };
}

test("a statement refused as busy is tried again, pausing longer each time, until it goes through", async () => {
  const time = fakeTime();
  let tries = 0;
  const value = await retryWhileBusy(async () => (++tries < 5 ? Promise.reject(busy()) : "done"), 3000, time.pause, time.now);
  assert.equal(value, "done");
  assert.deepEqual(time.pauses, [2, 4, 8, 16]);
});

test("still busy after the budget: the busy error goes on (answered 503 store-unavailable); other errors at once", async () => {
  const time = fakeTime();
  await assert.rejects(retryWhileBusy(() => Promise.reject(busy()), 3000, time.pause, time.now), { code: "SQLITE_BUSY" });
  const waited = time.pauses.reduce((a, b) => a + b, 0);
  assert.ok(waited <= 3000 && waited > 2800, `waited ${waited} ms of its 3000`);
  assert.ok(time.pauses.every((ms) => ms <= 100), "never a long pause");

  const other = fakeTime();
  await assert.rejects(retryWhileBusy(() => Promise.reject(new Error("no such table")), 3000, other.pause, other.now), /no such table/);
  assert.deepEqual(other.pauses, []);
});

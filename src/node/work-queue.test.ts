import assert from "node:assert/strict";
import { test } from "node:test";

import { ManualClock, settle } from "./manual-clock.js";
import { WorkQueue } from "./work-queue.js";

test("a VM that stays unsettled is retried after 2 s, 4 s, ... up to 60 s; settling resets the back-off", async () => {
  const clock = new ManualClock();
  let settles = false;
  const runs: number[] = [];
  const work = async () => {
    runs.push(clock.now());
    return settles;
  };
  // As the agent does: a due retry wakes the sync loop, whose answer re-queues what is unsettled.
  const queue: WorkQueue = new WorkQueue({ clock, onRetryDue: () => queue.retryWhenDue("vm", work) });
  queue.enqueue("vm", work);
  await settle();
  for (let i = 0; i < 7; i++) await clock.advance(60_000);
  const gaps = runs.slice(1).map((t, i) => t - runs[i]!);
  assert.deepEqual(gaps.slice(0, 7), [2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);

  settles = true;
  await clock.advance(60_000);
  assert.deepEqual(queue.backoff("vm"), { retryAt: 0, nextDelayMs: 2000 }, "a settled VM starts afresh");
  const count = runs.length;
  await clock.advance(600_000);
  assert.equal(runs.length, count, "a settled VM is not retried");
});

test("a retry is not run before it is due, and one timer wakes the earliest", async () => {
  const clock = new ManualClock();
  let woken = 0;
  const queue = new WorkQueue({ clock, onRetryDue: () => woken++ });
  let runs = 0;
  const failing = async () => {
    runs++;
    return false;
  };
  queue.enqueue("a", failing);
  await settle();
  await clock.advance(1000);
  queue.enqueue("b", failing);
  await settle();
  assert.equal(clock.timers, 1, "one timer, for a's retry (due first)");

  queue.retryWhenDue("a", failing);
  queue.retryWhenDue("b", failing);
  await settle();
  assert.equal(runs, 2, "neither retry is due yet");
  await clock.advance(1000);
  assert.equal(woken, 1, "woken when a's retry fell due");
  queue.retryWhenDue("a", failing);
  queue.retryWhenDue("b", failing);
  await settle();
  assert.equal(runs, 3, "a was retried, b (due 1 s later) waits");
  assert.equal(clock.timers, 1, "and a timer waits for b");
});

test("work on one VM runs one pass at a time, queued once; other VMs run side by side", async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, onRetryDue: () => {} });
  const running = new Set<string>();
  const overlaps: string[] = [];
  const passes: string[] = [];
  const releases: Array<() => void> = [];
  const work = (id: string) => async () => {
    if (running.has(id)) overlaps.push(id);
    running.add(id);
    passes.push(id);
    await new Promise<void>((resolve) => releases.push(resolve));
    running.delete(id);
    return true;
  };
  queue.enqueue("a", work("a"));
  await settle();
  queue.enqueue("a", work("a"));
  queue.enqueue("a", work("a")); // already queued: once is enough (level-triggered)
  queue.enqueue("b", work("b"));
  await settle();
  assert.deepEqual(passes, ["a", "b"], "b runs beside a; a's next pass waits");
  assert.equal(queue.isBusy("a"), true);
  for (let i = 0; i < 3; i++) {
    releases.splice(0).forEach((release) => release());
    await settle();
  }
  assert.deepEqual(passes, ["a", "b", "a"], "a ran twice in all, never two passes at once");
  assert.deepEqual(overlaps, []);
  await queue.drain();
  assert.equal(queue.isBusy("a"), false);
});

test("a stopped queue runs no new pass and leaves no timer; drain waits for the pass that runs", async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, onRetryDue: () => {} });
  let release!: () => void;
  let ended = false;
  queue.enqueue("a", async () => {
    await new Promise<void>((resolve) => (release = resolve));
    ended = true;
    return false;
  });
  await settle();
  let later = 0;
  queue.enqueue("a", async () => ++later > 0);
  queue.stop();
  const drained = queue.drain();
  release();
  await drained;
  assert.equal(ended, true, "drain waited for the running pass");
  assert.equal(later, 0, "the queued pass did not run");
  assert.equal(clock.timers, 0, "no retry was armed");
});

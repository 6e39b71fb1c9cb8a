import assert from "node:assert/strict";
import { test } from "node:test";

import { Hub } from "./hub.js";

test("a host's notification wakes only that host's watch; each watch is released once, however often it is cancelled", async () => {
  const hub = new Hub();
  const h1 = hub.watchHost("h1");
  const h2 = hub.watchHost("h2");
  assert.equal(hub.openWatches, 2);
  let h2Woke = false;
  const h2Waits = h2.wait(60_000).then(() => (h2Woke = true));
  const h1Waits = h1.wait(60_000);
  hub.notifyHost("h1");
  await h1Waits;
  assert.equal(h2Woke, false, "h2 still waits");
  h1.cancel();
  h1.cancel();
  assert.equal(hub.openWatches, 1, "a second cancel releases nothing more");
  h2.cancel(); // ends its wait, as a long-poll's finally does
  await h2Waits;
  assert.equal(hub.openWatches, 0);
});

test("a notification between the watch and the wait is not lost; a node that hangs up ends the wait", async () => {
  const hub = new Hub();
  const early = hub.watchHost("h1");
  hub.notifyHost("h1");
  await early.wait(60_000); // resolves at once: the test's timeout would end it otherwise
  early.cancel();

  const gone = new AbortController();
  const leaving = hub.watchHost("h1");
  const waits = leaving.wait(60_000, gone.signal);
  gone.abort();
  await waits;
  leaving.cancel();
  assert.equal(hub.openWatches, 0);
});

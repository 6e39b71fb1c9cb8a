import assert from "node:assert/strict";
import { test } from "node:test";

import type { ConsoleChunk, SyncRequest, SyncResponse, VmReport } from "../core/protocol.js";
import { ManualClock, settle } from "./manual-clock.js";
import { RateLimited, SyncLoop, type SyncHandler } from "./sync-loop.js";

const NODE = { node: "h1", sshHost: "127.0.0.1", facts: { memoryMiB: 8192, cpus: 8 } };

/** A server stand-in: every request waits for the test to answer it (or to fail it). */
function fakeServer() {
  const requests: SyncRequest[] = [];
  const waiting: Array<{ resolve: (r: SyncResponse) => void; reject: (e: Error) => void; signal: AbortSignal }> = [];
  return {
    requests,
    get pending() {
      return waiting.length;
    },
    link: {
      sync(body: SyncRequest, _wait: number, signal: AbortSignal): Promise<SyncResponse> {
        requests.push(body);
        return new Promise((resolve, reject) => {
          const entry = { resolve, reject, signal };
          waiting.push(entry);
          signal.addEventListener("abort", () => {
            waiting.splice(waiting.indexOf(entry), 1);
            reject(new Error("aborted"));
          }, { once: true });
        });
      },
    },
    answer(response: SyncResponse = { version: 1, vms: [] }) {
      waiting.shift()!.resolve(response);
    },
    fail() {
      waiting.shift()!.reject(new Error("connect ECONNREFUSED"));
    },
  };
}

test("an unreachable server is retried after 0.5 s, doubling to 10 s, and never in between", async () => {
  const clock = new ManualClock();
  const sentAt: number[] = [];
  const link = {
    async sync(): Promise<SyncResponse> {
      sentAt.push(clock.now());
      throw new Error("connect ECONNREFUSED 127.0.0.1:1");
    },
  };
  const logs: string[] = [];
  const handler: SyncHandler = { reports: () => new Map(), consoles: async () => [], hasLookedAtAll: () => true, apply: async () => {} };
  const loop = new SyncLoop({ link, node: NODE, handler, clock, log: (msg) => logs.push(msg) });
  loop.start();
  await clock.advance(46_000);
  const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
  assert.deepEqual(gaps, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  assert.equal(logs.filter((l) => l.startsWith("sync with the server failed")).length, sentAt.length);
  await loop.stop();
});

test("online only once the server has heard the first look at every VM; a first look is sent at once", async () => {
  const clock = new ManualClock();
  const server = fakeServer();
  let looked = false;
  const report: VmReport = { id: "vm", state: "running", responding: false, sshPort: 2222, ip: null, error: null, detail: null };
  const handler: SyncHandler = {
    reports: () => (looked ? new Map([["vm", report]]) : new Map()),
    consoles: async () => [],
    hasLookedAtAll: () => looked,
    apply: async () => {},
  };
  const loop = new SyncLoop({ link: server.link, node: NODE, handler, clock, log: () => {}, pollWaitSeconds: 25 });
  let online = false;
  void loop.online().then(() => (online = true));
  loop.start();
  await settle();
  server.answer({ version: 1, vms: [] });
  await settle();
  assert.equal(server.requests.at(-1)?.waitSeconds, 25, "nothing to say: a long-poll");
  assert.equal(online, false, "the server has not heard the VM yet");

  looked = true;
  loop.wake(); // the agent's first look ends the wait
  await settle();
  assert.deepEqual(server.requests.at(-1)?.reports, [report], "the look is sent at once");
  assert.equal(server.requests.at(-1)?.waitSeconds, 0);
  server.answer({ version: 1, vms: [] });
  await settle();
  assert.equal(online, true);
  await loop.stop();
  assert.equal(server.pending, 0);
});

test("a server that limits the node is waited out as it asks, within bounds, logged once, then told everything", async () => {
  const rows = [
    { why: "Retry-After 1 s", retryAfterMs: 1000, pauseMs: 1000 },
    { why: "no Retry-After: the first back-off, not a loop", retryAfterMs: undefined, pauseMs: 500 },
    { why: "Retry-After 0: still a pause", retryAfterMs: 0, pauseMs: 500 },
    { why: "an hour: no longer than the longest back-off, so the node never goes offline", retryAfterMs: 3_600_000, pauseMs: 10_000 },
  ];
  for (const row of rows) {
    const clock = new ManualClock();
    const sent: Array<{ at: number; body: SyncRequest }> = [];
    // The server answers twice (the node is online), refuses the next three syncs with a 429, answers
    // again, then holds a long-poll.
    const link = {
      async sync(body: SyncRequest, _wait: number, signal: AbortSignal): Promise<SyncResponse> {
        sent.push({ at: clock.now(), body });
        if (sent.length <= 2 || sent.length === 6) return { version: 1, vms: [] };
        if (sent.length <= 5) throw new RateLimited(row.retryAfterMs, "server answered 429: this node sent more than 100 syncs in a second");
        return new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
      },
    };
    const report: VmReport = { id: "vm", state: "running", responding: true, sshPort: 2222, ip: null, error: null, detail: null };
    const handler: SyncHandler = { reports: () => new Map([["vm", report]]), consoles: async () => [], hasLookedAtAll: () => true, apply: async () => {} };
    const logs: string[] = [];
    const loop = new SyncLoop({ link, node: NODE, handler, clock, log: (msg) => logs.push(msg) });
    loop.start();
    await clock.advance(4 * row.pauseMs);
    assert.equal(sent.length, 7, row.why);
    const gaps = sent.slice(3, 6).map((s, i) => s.at - sent[i + 2]!.at);
    assert.deepEqual(gaps, [row.pauseMs, row.pauseMs, row.pauseMs], `${row.why}: each refusal is waited out, no more, no less`);
    assert.equal(sent[2]!.body.waitSeconds, 25, `${row.why}: the refused sync was a long-poll`);
    assert.deepEqual([sent[5]!.body.waitSeconds, sent[5]!.body.reports], [0, [report]], `${row.why}: after the pause, the reports at once`);
    assert.equal(logs.filter((l) => l.includes("limits this node")).length, 1, `${row.why}: one line for three refusals: ${logs.join("; ")}`);
    assert.ok(!logs.some((l) => /lost the server|cannot reach|failed/.test(l)), `${row.why}: a server that answers is not lost: ${logs.join("; ")}`);
    await loop.stop();
  }
});

test("a sync that carries console output waits a second at most and is not cut short; a quiet console long-polls", async () => {
  const clock = new ManualClock();
  const server = fakeServer();
  let pending: ConsoleChunk[] = [];
  const handler: SyncHandler = {
    reports: () => new Map(),
    // What the console gained since the server's last answer: sent once, then nothing until it grows.
    consoles: async () => pending.splice(0),
    hasLookedAtAll: () => true,
    apply: async () => {},
  };
  const loop = new SyncLoop({ link: server.link, node: NODE, handler, clock, log: () => {}, pollWaitSeconds: 25 });
  loop.start();
  await settle();
  server.answer();
  await settle();
  server.answer(); // the sync that makes the node online
  await settle();
  assert.equal(server.requests.at(-1)?.waitSeconds, 25, "nothing printed: a long-poll");
  assert.equal(loop.isLongPolling(), true);

  pending = [{ id: "vm", stream: "run1", offset: 0, data: Buffer.from("Linux version 6.1\n").toString("base64") }];
  loop.wake(); // the console grew
  await settle();
  assert.deepEqual(server.requests.at(-1)?.consoles, [{ id: "vm", stream: "run1", offset: 0, data: Buffer.from("Linux version 6.1\n").toString("base64") }]);
  assert.equal(server.requests.at(-1)?.waitSeconds, 0, "woken: sent at once");
  server.answer();
  await settle();

  pending = [{ id: "vm", stream: "run1", offset: 18, data: Buffer.from("more\n").toString("base64") }];
  server.answer(); // the long-poll sent meanwhile ends
  await settle();
  const carrying = server.requests.at(-1)!;
  assert.equal(carrying.consoles?.length, 1);
  assert.equal(carrying.waitSeconds, 1, "a sync with console output waits a second, not a long-poll");
  assert.equal(loop.isLongPolling(), false);
  loop.wake(); // a report changed meanwhile
  await settle();
  assert.equal(server.pending, 1, "its answer (how much the server took) is not thrown away");
  const count = server.requests.length;
  server.answer();
  await settle();
  assert.equal(server.requests.length, count + 1);
  assert.equal(server.requests.at(-1)?.waitSeconds, 0, "the change woken about goes at once after it");
  await loop.stop();
});

import assert from "node:assert/strict";
import { test } from "node:test";

import type { SyncRequest, SyncResponse, VmReport } from "../core/protocol.js";
import { ManualClock, settle } from "./manual-clock.js";
import { SyncLoop, type SyncHandler } from "./sync-loop.js";

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
  const handler: SyncHandler = { reports: () => new Map(), hasLookedAtAll: () => true, apply: async () => {} };
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

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Vm } from "../core/api.js";
import { ConnectionError } from "./client.js";
import { Failure } from "./errors.js";
import { sampleVm } from "../../test/support/fixtures.js";
import { waitUntilReady } from "./wait.js";

const vm = (fields: Partial<Vm>): Vm => sampleVm(fields);

/** A fake GET /vms/{id}: answers the scripted steps in turn (an Error is thrown), then repeats the last. */
function scripted(steps: (Vm | Error)[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    getVm: async () => {
      const step = steps[Math.min(calls++, steps.length - 1)]!;
      if (step instanceof Error) throw step;
      return step;
    },
  };
}

/** A clock that moves only when the waiter sleeps. */
function fakeTime() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

test("waits through provisioning until the VM runs and responds, logging each change once", async () => {
  const ready = vm({ state: "running", responding: true, ssh: { host: "127.0.0.1", port: 2222, user: "root" } });
  const client = scripted([vm({ state: "provisioning" }), vm({ state: "provisioning" }), vm({ state: "running" }), ready]);
  const log: string[] = [];
  const result = await waitUntilReady(client, vm({}), { timeoutMs: 60_000, log: (l) => log.push(l), ...fakeTime() });
  assert.deepEqual(result, ready);
  assert.deepEqual(log, [
    "vm-003: pending on local",
    "vm-003: provisioning",
    "vm-003: running, waiting for its ssh to answer",
    "vm-003: ready",
  ]);
});

test("a VM that fails ends the wait with its error", async () => {
  const client = scripted([vm({ state: "failed", error: "qemu exited: no kvm" })]);
  await assert.rejects(
    waitUntilReady(client, vm({}), { timeoutMs: 60_000, log: () => {}, ...fakeTime() }),
    (err: unknown) => err instanceof Failure && /vm-003 \(7f3c0000\) is failed: qemu exited: no kvm/.test(err.message),
  );
});

test("a VM terminated meanwhile ends the wait", async () => {
  const client = scripted([vm({ state: "terminating" })]);
  await assert.rejects(waitUntilReady(client, vm({}), { timeoutMs: 60_000, log: () => {}, ...fakeTime() }), /terminating/);
});

test("the wait is bounded and says the VM was left running", async () => {
  const client = scripted([vm({ state: "running" })]);
  await assert.rejects(
    waitUntilReady(client, vm({}), { timeoutMs: 5_000, log: () => {}, ...fakeTime() }),
    (err: unknown) => err instanceof Failure && /still running but not responding after 5 s/.test(err.message),
  );
  assert.ok(client.calls >= 4 && client.calls <= 6, `polled ${client.calls} times in 5 s`);
});

test("a server briefly out of reach does not end the wait", async () => {
  const ready = vm({ state: "running", responding: true });
  const client = scripted([new ConnectionError("cannot reach"), new ConnectionError("cannot reach"), ready]);
  const log: string[] = [];
  const result = await waitUntilReady(client, vm({}), { timeoutMs: 60_000, log: (l) => log.push(l), ...fakeTime() });
  assert.equal(result.state, "running");
  assert.equal(log.filter((l) => l.includes("cannot reach")).length, 1);
});

import assert from "node:assert/strict";
import { test } from "node:test";

import { runStopSequence, type StopTarget } from "./stop-sequence.js";

/** A QEMU that ends at the first step it obeys; every step and wait is recorded. */
function fakeQemu(obeys: "powerdown" | "quit" | "kill" | "nothing", reachable = true): { target: StopTarget; steps: string[] } {
  const steps: string[] = [];
  let alive = true;
  const target: StopTarget = {
    async ask(command) {
      steps.push(command);
      if (!reachable) return false;
      if ((command === "system_powerdown" && obeys === "powerdown") || (command === "quit" && obeys === "quit")) alive = false;
      return true;
    },
    async isAlive() {
      return alive;
    },
    async waitGone(ms) {
      steps.push(`wait ${ms}`);
      return !alive;
    },
    kill() {
      steps.push("SIGKILL");
      if (obeys === "kill") alive = false;
    },
  };
  return { target, steps };
}

test("a stop asks the guest, then QEMU, then the kernel, each with a bounded wait, and goes no further than needed", async () => {
  const timeouts = { powerdownMs: 2, quitMs: 3, killMs: 10 };
  const rows: Array<[string, ReturnType<typeof fakeQemu>, string, string[]]> = [
    ["a guest that powers down", fakeQemu("powerdown"), "powered-off", ["system_powerdown", "wait 2"]],
    ["a guest that ignores ACPI (busybox)", fakeQemu("quit"), "quit", ["system_powerdown", "wait 2", "quit", "wait 3"]],
    ["a QEMU that ignores quit", fakeQemu("kill"), "killed", ["system_powerdown", "wait 2", "quit", "wait 3", "SIGKILL", "wait 10"]],
    ["a QEMU stuck in the kernel", fakeQemu("nothing"), "still-there", ["system_powerdown", "wait 2", "quit", "wait 3", "SIGKILL", "wait 10"]],
    // Nothing can reach the guest through a QEMU that does not answer: no wait for a powerdown.
    ["a QEMU that QMP cannot reach", fakeQemu("kill", false), "killed", ["system_powerdown", "quit", "wait 3", "SIGKILL", "wait 10"]],
  ];
  for (const [what, { target, steps }, outcome, expected] of rows) {
    assert.equal(await runStopSequence(target, timeouts), outcome, what);
    assert.deepEqual(steps, expected, what);
  }
});

test("a forced stop does not ask the guest: QEMU quits at once, and is killed if it will not", async () => {
  const timeouts = { powerdownMs: 2, quitMs: 3, killMs: 10 };
  const rows: Array<[string, ReturnType<typeof fakeQemu>, string, string[]]> = [
    ["a QEMU that obeys quit", fakeQemu("quit"), "quit", ["quit", "wait 3"]],
    ["a QEMU that ignores quit", fakeQemu("kill"), "killed", ["quit", "wait 3", "SIGKILL", "wait 10"]],
  ];
  for (const [what, { target, steps }, outcome, expected] of rows) {
    assert.equal(await runStopSequence(target, timeouts, true), outcome, what);
    assert.deepEqual(steps, expected, what);
  }
});

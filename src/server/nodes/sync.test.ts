import assert from "node:assert/strict";
import { test } from "node:test";
import type { VmReport } from "../../core/protocol.js";
import { nextState } from "./sync.js";

test("node reports move a VM through its states; the owner's terminate always wins", () => {
  const rows: Array<[string, VmReport["state"], string]> = [
    ["pending", "provisioning", "provisioning"],
    ["pending", "running", "running"],
    ["provisioning", "running", "running"],
    ["provisioning", "failed", "failed"],
    ["running", "failed", "failed"],
    // A node that lost a VM it should run recreates it: the server does not end the VM for that.
    ["running", "terminated", "running"],
    ["pending", "terminated", "pending"],
    // Terminating ends only when the node confirms the VM is gone (QEMU reaped, files deleted).
    ["terminating", "running", "terminating"],
    ["terminating", "failed", "terminating"],
    ["terminating", "terminated", "terminated"],
    // Final states stay until the owner acts.
    ["terminated", "running", "terminated"],
    ["failed", "running", "failed"],
    ["failed", "terminated", "failed"],
  ];
  for (const [current, reported, expected] of rows) {
    assert.equal(nextState(current, reported), expected, `${current} + ${reported}`);
  }
});

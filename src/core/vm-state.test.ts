import assert from "node:assert/strict";
import { test } from "node:test";
import {
  HOLDING_STATES,
  VM_STATES,
  canExtend,
  canMove,
  desiredOf,
  isFinal,
  nextState,
  type DesiredState,
  type ReportedState,
  type VmState,
} from "./vm-state.js";

test("node reports move a VM through its states; the owner's terminate always wins", () => {
  const rows: Array<[VmState, ReportedState, VmState]> = [
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
    // An expired VM (its grace period) is stopped by the server's wish: what its node reports does not move it.
    ["expired", "running", "expired"],
    ["expired", "failed", "expired"],
    ["expired", "provisioning", "expired"],
  ];
  for (const [current, reported, expected] of rows) {
    assert.equal(nextState(current, reported), expected, `${current} + ${reported}`);
  }
});

test("the node is told to run a live VM, stop a failed one (keeping its files), and delete a terminating one", () => {
  const rows: Array<[VmState, DesiredState | undefined]> = [
    ["pending", "running"],
    ["provisioning", "running"],
    ["running", "running"],
    ["failed", "stopped"],
    ["expired", "stopped"],
    ["terminating", "terminated"],
    ["terminated", undefined],
  ];
  for (const [state, desired] of rows) assert.equal(desiredOf(state), desired, state);
});

test("every state but terminated holds its slot; only terminated is final, and nothing leaves it", () => {
  assert.deepEqual(HOLDING_STATES, ["pending", "provisioning", "running", "expired", "terminating", "failed"]);
  assert.deepEqual(VM_STATES.filter(isFinal), ["terminated"]);
  for (const to of VM_STATES) assert.equal(canMove("terminated", to), false, `terminated -> ${to}`);
});

test("the allowed moves: every live state may be terminated, and terminating only ends terminated", () => {
  const rows: Array<[VmState, VmState, boolean]> = [
    ["pending", "terminating", true],
    ["provisioning", "terminating", true],
    ["running", "terminating", true],
    ["failed", "terminating", true],
    ["expired", "terminating", true],
    ["terminating", "terminated", true],
    ["terminating", "running", false],
    ["pending", "terminated", false],
    ["running", "terminated", false],
    ["failed", "running", false],
    ["running", "provisioning", true],
    ["running", "pending", false],
  ];
  for (const [from, to, allowed] of rows) assert.equal(canMove(from, to), allowed, `${from} -> ${to}`);
});

test("only a VM that is neither terminating nor terminated can be extended", () => {
  assert.deepEqual(VM_STATES.filter(canExtend), ["pending", "provisioning", "running", "expired", "failed"]);
});

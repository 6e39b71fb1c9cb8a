import assert from "node:assert/strict";
import { test } from "node:test";
import {
  HOLDING_STATES,
  VM_STATES,
  canExtend,
  canMove,
  canPower,
  isPoweredOff,
  shouldRespond,
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
    // A report of stopped confirms a stop the server decided; it never stops a VM by itself.
    ["running", "stopped", "running"],
    ["provisioning", "stopped", "provisioning"],
    ["failed", "stopped", "failed"],
    // A stopped or expired VM is moved only by an action: a report sent before the node heard of the
    // stop (still running, or still booting) must not bring it back, nor may a crash report fail it.
    ["stopped", "running", "stopped"],
    ["stopped", "provisioning", "stopped"],
    ["stopped", "failed", "stopped"],
    ["stopped", "stopped", "stopped"],
    ["expired", "running", "expired"],
    ["expired", "provisioning", "expired"],
    ["expired", "terminated", "expired"],
    ["expired", "failed", "expired"],
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
    ["stopped", "stopped"],
    ["expired", "stopped"],
    ["terminating", "terminated"],
    ["terminated", undefined],
  ];
  for (const [state, desired] of rows) assert.equal(desiredOf(state), desired, state);
});

test("every state but terminated holds its slot (stopped and expired too); only terminated is final, and nothing leaves it", () => {
  assert.deepEqual(HOLDING_STATES, ["pending", "provisioning", "running", "stopped", "expired", "terminating", "failed"]);
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
    // Stop, start (back to provisioning: the node boots it from its own disk), expiry with grace.
    ["running", "stopped", true],
    ["pending", "stopped", true],
    ["stopped", "provisioning", true],
    ["stopped", "running", false],
    ["stopped", "expired", true],
    ["running", "expired", true],
    ["expired", "provisioning", true],
    ["expired", "stopped", false],
    ["stopped", "terminating", true],
    ["expired", "terminating", true],
    ["failed", "stopped", false],
  ];
  for (const [from, to, allowed] of rows) assert.equal(canMove(from, to), allowed, `${from} -> ${to}`);
});

test("only a VM that is neither terminating nor terminated can be extended", () => {
  assert.deepEqual(VM_STATES.filter(canExtend), ["pending", "provisioning", "running", "stopped", "expired", "failed"]);
});

test("power: a booting or running VM may be stopped, only a stopped one started, only a running one rebooted", () => {
  assert.deepEqual(VM_STATES.filter((s) => canPower("stop", s)), ["pending", "provisioning", "running"]);
  assert.deepEqual(VM_STATES.filter((s) => canPower("start", s)), ["stopped"]);
  assert.deepEqual(VM_STATES.filter((s) => canPower("reboot", s)), ["running"]);
});

test("a stopped or expired VM is powered off and not expected to answer: no liveness alarm for it", () => {
  assert.deepEqual(VM_STATES.filter(isPoweredOff), ["stopped", "expired"]);
  assert.deepEqual(VM_STATES.filter(shouldRespond), ["pending", "provisioning", "running"]);
});

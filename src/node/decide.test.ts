import assert from "node:assert/strict";
import { test } from "node:test";

import { NOT_LOOKED, decide, isSettled, type Action, type VmSituation } from "./decide.js";
import type { VmObservation } from "./drivers/driver.js";

const seen = (state: VmObservation["state"], words: Partial<VmObservation> = {}): VmObservation => ({
  id: "vm",
  state,
  address: null,
  sshPort: 2222,
  error: null,
  detail: null,
  ...words,
});

const at = (s: Partial<VmSituation>): VmSituation => ({
  desired: "running",
  reported: undefined,
  isStopped: false,
  seen: NOT_LOOKED,
  unsupportedBoot: null,
  ...s,
});

const died = seen("gone", { error: "the VM stopped unexpectedly: QEMU was killed by SIGKILL", detail: "QEMU was killed by SIGKILL: qemu.log's tail" });
const panicked = seen("halted", { error: "the guest did not go on: its kernel panicked", detail: "QEMU (pid 7) says the VM is guest-panicked" });
const silent = seen("unknown", { detail: "QEMU (pid 7) does not answer QMP" });

test("the agent's next step for a VM, case by case", () => {
  const rows: Array<[string, VmSituation, Action]> = [
    // terminated: delete everything, until this run has reported it terminated.
    ["terminate a VM this run knows nothing of", at({ desired: "terminated" }), { kind: "destroy" }],
    ["terminate a running VM", at({ desired: "terminated", reported: "running" }), { kind: "destroy" }],
    ["terminate a failed VM (its files go now)", at({ desired: "terminated", reported: "failed" }), { kind: "destroy" }],
    ["a terminated VM needs nothing more", at({ desired: "terminated", reported: "terminated" }), { kind: "none" }],
    // stopped: a failed VM holds its slot: stop it, keep its files.
    ["stop a failed VM and keep its logs", at({ desired: "stopped", reported: "failed" }), { kind: "stop-keep-files" }],
    ["a new agent stops a failed VM again", at({ desired: "stopped" }), { kind: "stop-keep-files" }],
    ["a stopped failed VM needs nothing more", at({ desired: "stopped", reported: "failed", isStopped: true }), { kind: "none" }],
    // running: look first.
    ["look at a VM before deciding", at({}), { kind: "look" }],
    ["a failure is final until the server says stopped", at({ reported: "failed", seen: died }), { kind: "none" }],
    ["a failure is final, even unlooked", at({ reported: "failed" }), { kind: "none" }],
    ["adopt a running VM after an agent restart", at({ seen: seen("running") }), { kind: "adopt", seen: seen("running") }],
    ["a VM this run started still runs", at({ reported: "running", seen: seen("running") }), { kind: "adopt", seen: seen("running") }],
    ["a silent QEMU is waited on, never doubled", at({ seen: silent }), { kind: "wait", seen: silent }],
    ["a silent QEMU of a running VM is not failed", at({ reported: "running", seen: silent }), { kind: "wait", seen: silent }],
    ["boot a VM that has nothing on the node", at({ seen: undefined }), { kind: "create-and-start" }],
    ["boot again a VM stopped by Ctrl-C on vgrid up", at({ seen: seen("gone") }), { kind: "create-and-start" }],
    ["boot a VM whose start could not tell, and is now gone", at({ reported: "provisioning", seen: seen("gone") }), { kind: "create-and-start" }],
    ["replace a QEMU whose guest ended before this run reported it", at({ seen: panicked }), { kind: "create-and-start" }],
    // A VM this run reported running, and saw die: failed, in the driver's words.
    ["its QEMU died", at({ reported: "running", seen: died }), { kind: "crashed", error: died.error!, detail: died.detail }],
    ["its guest panicked", at({ reported: "running", seen: panicked }), { kind: "crashed", error: panicked.error!, detail: panicked.detail }],
    ["gone, and the driver cannot say why", at({ reported: "running", seen: seen("gone") }), { kind: "crashed", error: "the VM stopped unexpectedly", detail: null }],
    // Its owner asked for a reboot: carried out once it runs, never on a VM still booting or gone.
    ["reboot a running VM", at({ reported: "running", seen: seen("running"), rebootDue: { force: false } }), { kind: "reboot", force: false }],
    ["reset a running VM", at({ reported: "running", seen: seen("running"), rebootDue: { force: true } }), { kind: "reboot", force: true }],
    ["a reboot waits for a silent QEMU", at({ reported: "running", seen: silent, rebootDue: { force: false } }), { kind: "wait", seen: silent }],
    // A stopped VM (by its owner, or failed) is stopped, its files kept.
    ["stop a running VM its owner stopped", at({ desired: "stopped", reported: "running" }), { kind: "stop-keep-files" }],
    ["a VM stopped by this run needs nothing more", at({ desired: "stopped", reported: "stopped", isStopped: true }), { kind: "none" }],
    ["its files vanished", at({ reported: "running", seen: undefined }), { kind: "report-failed", error: "the VM's files are gone from the node", detail: null }],
    // What the driver cannot boot is refused in words, not attempted; what already runs is adopted.
    [
      "an image the driver cannot boot",
      at({ seen: undefined, unsupportedBoot: "direct" }),
      {
        kind: "report-failed",
        error: "this node cannot boot the image (its hypervisor does not boot a kernel directly): an administrator must place the image on another node",
        detail: "the node's driver does not support boot mode 'direct'",
      },
    ],
    ["a running VM is adopted whatever its boot mode", at({ seen: seen("running"), unsupportedBoot: "disk" }), { kind: "adopt", seen: seen("running") }],
  ];
  for (const [what, situation, expected] of rows) assert.deepEqual(decide(situation), expected, what);
  const kinds = new Set(rows.map(([, , action]) => action.kind));
  assert.deepEqual([...kinds].sort(), ["adopt", "crashed", "create-and-start", "destroy", "look", "none", "reboot", "report-failed", "stop-keep-files", "wait"]);
});

test("a VM is settled when it is as the server wants it, or only the server can move it on", () => {
  const rows: Array<[string, Partial<VmSituation>, boolean]> = [
    ["running and reported running", { reported: "running" }, true],
    ["running and failed (final)", { reported: "failed" }, true],
    ["running, still provisioning", { reported: "provisioning" }, false],
    ["running, nothing reported yet", {}, false],
    ["running, a reboot still to do", { reported: "running", rebootDue: { force: false } }, false],
    ["stopped once stopped", { desired: "stopped", isStopped: true }, true],
    ["stopped, not yet", { desired: "stopped", reported: "failed" }, false],
    ["terminated once reported", { desired: "terminated", reported: "terminated" }, true],
    ["terminated, deletion failed", { desired: "terminated", reported: "failed" }, false],
  ];
  for (const [what, s, expected] of rows) assert.equal(isSettled(at(s)), expected, what);
});

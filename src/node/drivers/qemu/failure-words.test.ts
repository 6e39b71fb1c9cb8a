import assert from "node:assert/strict";
import { test } from "node:test";

import { cannotTell, didNotRunInTime, exitedAtStart, guestEnded, outlivedKill, qemuGone } from "./failure-words.js";

test("each QEMU failure gives its owner a reason and its admins QEMU's words", () => {
  const stderr = "qemu-system-x86_64: -drive file=/var/lib/vgrid/vms/x/overlay.qcow2: Could not open backing file";
  const rows: Array<[string, { error: string; detail: string }, RegExp, RegExp]> = [
    ["QEMU exits as it starts", exitedAtStart(stderr), /^QEMU exited as it started; an administrator can read why in the node's log$/, /Could not open backing file/],
    ["QEMU is not installed", exitedAtStart("cannot run qemu-system-x86_64: spawn qemu-system-x86_64 ENOENT"), /cannot run QEMU.*must install it/, /ENOENT/],
    ["every port was taken", exitedAtStart("could not set up host forwarding rule 'tcp:127.0.0.1:4000-:22'"), /ssh port/, /host forwarding/],
    ["QEMU never says it runs", didNotRunInTime(30_000, "QMP did not answer"), /did not start within 30 s/, /30000 ms \(QMP did not answer\)/],
    ["the guest panicked", guestEnded(42, "guest-panicked"), /^the guest did not go on: its kernel panicked$/, /pid 42.*guest-panicked/],
    ["the guest shut down", guestEnded(42, "shutdown"), /shut itself down/, /shutdown/],
    ["QEMU's internal error", guestEnded(42, "internal-error"), /internal error; an administrator/, /internal-error/],
    ["QEMU is silent", cannotTell(42, "does not answer QMP: timeout"), /cannot tell yet/, /QEMU \(pid 42\) does not answer QMP/],
    ["our QEMU was killed", qemuGone("QEMU was killed by SIGKILL", 42, ""), /^the VM stopped unexpectedly: QEMU was killed by SIGKILL$/, /^QEMU was killed by SIGKILL$/],
    ["an adopted QEMU is gone", qemuGone(null, 42, "terminating on signal 15"), /its QEMU process is gone/, /QEMU \(pid 42\) is gone: terminating on signal 15/],
    ["QEMU outlives SIGKILL", outlivedKill(42, 10_000), /must look at the node/, /pid 42.*10000 ms after SIGKILL/],
  ];
  for (const [what, words, error, detail] of rows) {
    assert.match(words.error, error, what);
    assert.match(words.detail, detail, what);
    assert.equal(/\/var\/lib|pid \d/.test(words.error), false, `${what}: no node path or PID for the owner`);
  }
});

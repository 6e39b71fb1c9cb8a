// QEMU's failures in two voices: a reason the VM's owner can act on (`error`), and what QEMU and the
// node said, for admins and the node's log (`detail`). Pure, so each case is tested without a QEMU.

export interface FailureWords {
  error: string;
  detail: string;
}

const READ_THE_LOG = "an administrator can read why in the node's log";
/** QEMU's words when the forwarded port is taken (slirp, QEMU 7.2). */
export const PORT_TAKEN = /could not set up host forwarding rule/i;

/** QEMU ended before the VM ran; `qemuSaid` is its stderr's tail, or how it exited. */
export function exitedAtStart(qemuSaid: string): FailureWords {
  const detail = `QEMU did not start the VM: ${qemuSaid}`;
  if (/cannot run qemu-system|ENOENT/.test(qemuSaid)) {
    return { error: "this node cannot run QEMU (qemu-system-x86_64 is missing): an administrator must install it", detail };
  }
  if (PORT_TAKEN.test(qemuSaid)) {
    return { error: `QEMU could not forward the VM's ssh port: every port it tried was taken; ${READ_THE_LOG}`, detail };
  }
  return { error: `QEMU exited as it started; ${READ_THE_LOG}`, detail };
}

/** QEMU runs but did not say the VM runs in time (it was stopped again). */
export function didNotRunInTime(timeoutMs: number, seen: string): FailureWords {
  return {
    error: `the VM did not start within ${Math.round(timeoutMs / 1000)} s; ${READ_THE_LOG}`,
    detail: `QEMU did not start the VM within ${timeoutMs} ms (${seen})`,
  };
}

/** QEMU's process is up, but its guest ended for good (a QMP run state of qapi/run-state.json). */
export function guestEnded(pid: number, status: string): FailureWords {
  const detail = `QEMU (pid ${pid}) says the VM is ${status}`;
  switch (status) {
    case "guest-panicked":
      return { error: "the guest did not go on: its kernel panicked", detail };
    case "shutdown":
      return { error: "the guest shut itself down", detail };
    default:
      return { error: `QEMU stopped the guest after an internal error; ${READ_THE_LOG}`, detail };
  }
}

/** QEMU's process is up but cannot say that the VM runs (paused, or silent on QMP): it may pass. */
export function cannotTell(pid: number, why: string): FailureWords {
  return { error: "the node cannot tell yet whether the VM runs: QEMU does not say", detail: `QEMU (pid ${pid}) ${why}` };
}

/** The VM's QEMU is gone: `how` is how our child exited, or null for an adopted one (its exit is unknown). */
export function qemuGone(how: string | null, pid: number | undefined, qemuSaid: string): FailureWords {
  const what = how ?? `QEMU (pid ${pid}) is gone`;
  return {
    error: how === null ? "the VM stopped unexpectedly: its QEMU process is gone" : `the VM stopped unexpectedly: ${how}`,
    detail: qemuSaid.length > 0 ? `${what}: ${qemuSaid}` : what,
  };
}

/** A QEMU that outlived SIGKILL: stuck in the kernel, nothing the node can do. */
export function outlivedKill(pid: number, waitedMs: number): FailureWords {
  return {
    error: "the VM's QEMU does not end, even when killed: an administrator must look at the node",
    detail: `QEMU (pid ${pid}) is still there ${waitedMs} ms after SIGKILL`,
  };
}

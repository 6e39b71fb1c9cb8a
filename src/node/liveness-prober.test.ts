import assert from "node:assert/strict";
import { test } from "node:test";

import type { VmReport } from "../core/protocol.js";
import { SimDriver, type SimVm } from "./drivers/sim/driver.js";
import { LivenessProber, probeEndpoint, type ProbeTarget } from "./liveness-prober.js";
import { ManualClock } from "./manual-clock.js";

const PROBE_HOST = "127.0.0.9";

test("the prober knocks on the guest's own address when the node can reach it, else on the forwarded port", () => {
  const rows: Array<[string, string | null, number | null, { host: string; port: number } | null]> = [
    ["a guest on a bridge: its address, port 22", "10.1.2.3", null, { host: "10.1.2.3", port: 22 }],
    ["a bridge wins over a forwarded port", "10.1.2.3", 2222, { host: "10.1.2.3", port: 22 }],
    ["user networking: the node's forwarded port", null, 2222, { host: PROBE_HOST, port: 2222 }],
    ["nothing to knock on yet", null, null, null],
  ];
  for (const [what, address, sshPort, expected] of rows) assert.deepEqual(probeEndpoint(address, sshPort, PROBE_HOST), expected, what);
});

/** A prober over one running VM of a sim driver; every ssh knock is recorded and answered by `answers`. */
function world(vm: Partial<SimVm>, answers = true) {
  const clock = new ManualClock();
  const stopping = new AbortController();
  const driver = new SimDriver({
    vms: new Map([["vm", { state: "running", address: null, sshPort: null, error: null, detail: null, ...vm }]]),
  });
  let report: VmReport = { id: "vm", state: "running", responding: false, sshPort: null, ip: null, error: null, detail: null };
  const knocks: string[] = [];
  const logs: string[] = [];
  const target = (): ProbeTarget => ({ id: "vm", desired: "running", report });
  const prober = new LivenessProber({
    driver,
    clock,
    probeHost: PROBE_HOST,
    targets: () => (report.state === "running" ? [target()] : []),
    isProbed: () => report.state === "running",
    onChange: (_id, change) => (report = { ...report, ...change }),
    log: (msg) => logs.push(msg),
    signal: stopping.signal,
    probe: async (host, port) => {
      knocks.push(`${host}:${port}`);
      return answers;
    },
  });
  prober.start();
  return { clock, driver, prober, knocks, logs, report: () => report, stop: () => (prober.stop(), stopping.abort()) };
}

test("a VM with an address is probed there, one with a forwarded port on the node; the report says how to reach it", async () => {
  const bridged = world({ address: "10.1.2.3", sshPort: null });
  await bridged.clock.advance(500);
  assert.deepEqual(bridged.knocks, ["10.1.2.3:22"]);
  assert.deepEqual([bridged.report().responding, bridged.report().ip], [true, "10.1.2.3"]);
  bridged.stop();

  const forwarded = world({ address: null, sshPort: 2222 });
  await forwarded.clock.advance(500);
  assert.deepEqual(forwarded.knocks, [`${PROBE_HOST}:2222`]);
  assert.deepEqual([forwarded.report().responding, forwarded.report().sshPort, forwarded.report().ip], [true, 2222, null]);
  forwarded.stop();

  const unreachable = world({ address: null, sshPort: null });
  await unreachable.clock.advance(5000);
  assert.deepEqual(unreachable.knocks, [], "nothing to knock on");
  assert.equal(unreachable.report().responding, false);
  unreachable.stop();
});

test("a booting guest is asked every second, one that answers every 10 s", async () => {
  const booting = world({ sshPort: 2222 }, false);
  await booting.clock.advance(10_400);
  assert.equal(booting.knocks.length, 10, `knocks in 10 s while it boots: ${booting.knocks.length}`);
  booting.stop();

  const answering = world({ sshPort: 2222 }, true);
  await answering.clock.advance(30_400);
  assert.equal(answering.knocks.length, 3, `knocks in 30 s once it answers: ${answering.knocks.length}`);
  answering.stop();
});

test("only a QEMU that is gone, or a guest that ended, fails the VM; a silent QEMU does not", async () => {
  const w = world({ sshPort: 2222 }, false);
  await w.clock.advance(500);
  w.driver.setCondition("vm", { state: "unknown", detail: "QEMU (pid 7) does not answer QMP" });
  await w.clock.advance(5_000);
  assert.equal(w.report().state, "running", "silent is not dead");
  assert.equal(w.logs.filter((l) => l.includes("not failing it")).length, 1, "said once, not on every probe");

  w.driver.setCondition("vm", { state: "gone", error: "the VM stopped unexpectedly: QEMU was killed by SIGKILL", detail: "QEMU was killed by SIGKILL" });
  await w.clock.advance(1_500);
  assert.deepEqual(
    [w.report().state, w.report().responding, w.report().error, w.report().detail],
    ["failed", false, "the VM stopped unexpectedly: QEMU was killed by SIGKILL", "QEMU was killed by SIGKILL"],
  );
  const knocks = w.knocks.length;
  await w.clock.advance(5_000);
  assert.equal(w.knocks.length, knocks, "a failed VM is no longer probed");
  w.stop();
  await w.prober.drain();
  assert.equal(w.clock.timers, 0, "a stopped prober leaves no timer");
});

test("the host keys the guest printed on its console are reported once found, and looked for no more", async () => {
  const w = world({ address: null, sshPort: 2222 });
  await w.clock.advance(500);
  assert.equal(w.report().sshHostKeys, undefined, "nothing printed yet");
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  w.driver.printOnConsole("vm", `booting\r\n-----BEGIN SSH HOST KEY KEYS-----\r\n${key} root@vm-001\r\n-----END SSH HOST KEY KEYS-----\r\n`);
  await w.clock.advance(10_000);
  assert.deepEqual(w.report().sshHostKeys, [key]);
  w.driver.printOnConsole("vm", `-----BEGIN SSH HOST KEY KEYS-----\r\nssh-ed25519 AAAAother\r\n-----END SSH HOST KEY KEYS-----\r\n`);
  await w.clock.advance(20_000);
  assert.deepEqual(w.report().sshHostKeys, [key], "the first keys stay");
  w.stop();
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { VmReport } from "../../core/protocol.js";
import { DIALECTS, KEY, NODE_TOKEN, startTestServer } from "../../../test/support/server.js";
import { Hub } from "../events/hub.js";
import type { VmRow } from "../store/schema.js";
import { toVm } from "../store/vms.js";
import { acceptedHostKeys, failureAfter, reportChange } from "./sync.js";
import type { Vm } from "../../core/api.js";
import type { VmState } from "../../core/vm-state.js";

test("a failure report gives its reason whatever the next state; other reports keep the reason there", () => {
  const rows: Array<[VmState, string | null, VmReport["state"], string | null, string | null]> = [
    // [current state, current error, reported state, reported error, error after]
    ["running", null, "failed", "QEMU was killed by SIGKILL", "QEMU was killed by SIGKILL"],
    ["provisioning", null, "failed", null, "the node reported a failure without a reason"],
    // A terminating VM whose deletion fails shows why, while it stays terminating.
    ["terminating", null, "failed", "rm: permission denied", "rm: permission denied"],
    ["terminating", "QEMU exited with code 1", "failed", "rm: permission denied", "rm: permission denied"],
    // A restarted node stopping a failed VM no longer knows the reason: the server keeps it.
    ["failed", "QEMU exited with code 1", "failed", null, "QEMU exited with code 1"],
    // Reports that are not failures never touch the reason (the node cleaning up, a later success).
    ["failed", "QEMU exited with code 1", "terminated", null, "QEMU exited with code 1"],
    ["terminating", "rm: permission denied", "terminated", null, "rm: permission denied"],
    ["running", null, "running", null, null],
    // A terminated VM is history.
    ["terminated", "QEMU exited with code 1", "failed", "late news", "QEMU exited with code 1"],
  ];
  for (const [state, error, reported, reportedError, expected] of rows) {
    const after = failureAfter({ state, error, detail: null }, { state: reported, error: reportedError, detail: null });
    assert.equal(after.error, expected, `${state} + ${reported} ${reportedError}`);
  }
});

test("the admins' detail travels with the owner's reason, and stays when a report brings none", () => {
  const vm = { state: "running" as const, error: null, detail: null };
  const failed = failureAfter(vm, { state: "failed", error: "QEMU exited as it started", detail: "qemu: -drive: file not found: /x" });
  assert.deepEqual(failed, { error: "QEMU exited as it started", detail: "qemu: -drive: file not found: /x" });
  assert.deepEqual(failureAfter({ ...failed, state: "failed" }, { state: "failed", error: null, detail: null }), failed);
  assert.deepEqual(failureAfter({ ...failed, state: "failed" }, { state: "terminated", error: null, detail: null }), failed);
});

for (const dialect of DIALECTS) {
  test(`on ${dialect}: a node cannot give an ssh host that ssh would read as an option or anything but an address`, async (t) => {
    const server = await startTestServer({}, dialect);
    t.after(() => server.close());
    const rows: Array<[string, number]> = [
      ["-oProxyCommand=touch /tmp/pwned", 400],
      ["-p2222", 400],
      ["host name", 400],
      ["alice@host", 400],
      ["host;reboot", 400],
      ["", 400],
      [`${"a".repeat(254)}`, 400],
      ["127.0.0.1", 200],
      ["node-1.lab.example.org", 200],
      ["::1", 200],
      [`${"a".repeat(253)}`, 200],
    ];
    for (const [sshHost, status] of rows) {
      const res = await server.app.inject({
        method: "POST",
        url: "/api/v1/nodes/sync",
        headers: { authorization: `Bearer ${NODE_TOKEN}` },
        payload: { node: "h1", version: 0, waitSeconds: 0, sshHost, facts: { memoryMiB: 8192, cpus: 8 }, reports: [] },
      });
      assert.equal(res.statusCode, status, `sshHost '${sshHost}': ${res.body}`);
      if (status === 400) assert.match(res.body, /sshHost/, "the problem names the field");
    }
  });
}

test("the vm object never shows an ssh host stored before nodes' requests were checked", () => {
  const row: VmRow = {
    id: "7f3c0e52-5b7e-4c1a-9d59-0e0a3c6f1b2d", name: "vm-001", owner: "alice", image: "tiny", host: "h1",
    state: "running", responding: 1, last_seen_at: null, memory_mib: 256, cpus: 1,
    created_at: "2025-01-01T00:00:00.000Z", expires_at: null, ssh_port: 2222, ip: null,
    mac: "52:54:00:00:00:01", error: null, error_detail: null, ssh_host_keys: null, request_id: null, ssh_keys: "[]", updated_at: "2025-01-01T00:00:00.000Z",
    terminated_by: null, termination_reason: null, node_state: null, crash_restart: null, force_stop: 0, reboot_asked: 0, reboot_done: 0, reboot_force: 0,
    policy_at: null, warned_expires_at: null, silence_mailed: null,
  };
  assert.deepEqual(toVm(row, "127.0.0.1").ssh, { host: "127.0.0.1", port: 2222, user: "root" });
  assert.equal(toVm(row, "-oProxyCommand=touch /tmp/pwned").ssh, null);
});

test("a node's long-poll hears a change made between reading what should run and starting to wait", async () => {
  const hub = new Hub();
  const stillWaiting = () => new Promise<string>((resolve) => setImmediate(() => resolve("still waiting")));
  const watch = hub.watchHost("h1");
  // ...the route reads the desired state here; a deploy lands and notifies...
  hub.notifyHost("h1");
  assert.equal(await Promise.race([watch.wait(60_000).then(() => "woken"), stillWaiting()]), "woken");
  watch.cancel();

  const quiet = hub.watchHost("h1");
  hub.notifyHost("h2");
  const waiting = quiet.wait(60_000).then(() => "woken");
  assert.equal(await Promise.race([waiting, stillWaiting()]), "still waiting", "another host's change does not wake it");
  quiet.cancel();
  assert.equal(await waiting, "woken", "cancel ends a wait in progress");
});

test("the guest's host keys: only well-formed public keys are kept, and the first ones heard stay", () => {
  const good = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@vm-001";
  assert.equal(acceptedHostKeys(undefined), null);
  assert.equal(acceptedHostKeys(["not a key", "ssh-ed25519 AAAAbroken"]), null);
  assert.equal(acceptedHostKeys([good, "junk", good]), JSON.stringify([good.split(" ").slice(0, 2).join(" ")]));

  const row = { id: "7f3c0e52-5b7e-4c1a-9d59-0e0a3c6f1b2d", state: "running", responding: 1, ssh_port: 2222, ip: null, error: null, error_detail: null, ssh_host_keys: null, memory_mib: 256, cpus: 1, request_id: null, node_state: "running", reboot_asked: 0, reboot_done: 0, crash_restart: null };
  const report = { id: row.id, state: "running" as const, responding: true, sshPort: 2222, ip: null, error: null, detail: null };
  const first = reportChange(row, { ...report, sshHostKeys: [good] });
  assert.equal(first?.ssh_host_keys, acceptedHostKeys([good]));
  const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPu+J94u5BKW0y/4b6omwoXPOg1QBPuEokeK2KR4V4BI evil";
  assert.notEqual(acceptedHostKeys([other]), null, "the other key is a real one");
  const later = reportChange({ ...row, ssh_host_keys: first?.ssh_host_keys ?? null }, { ...report, sshHostKeys: [other] });
  assert.equal(later, undefined, "keys printed later (by whoever holds the console) change nothing");
});

for (const dialect of DIALECTS) {
  test(`on ${dialect}: a node's reports change every VM they name in one sync, and a responding VM's last sighting is its node's sync`, async (t) => {
    const server = await startTestServer({}, dialect);
    t.after(() => server.close());
    await server.bringNodeOnline();
    const token = await server.tokenFor("alice");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await server.app.inject({ method: "POST", url: "/api/v1/vms", headers: { authorization: `Bearer ${token}` }, payload: { image: "tiny", sshKeys: [KEY] } });
      ids.push(res.json<{ id: string }>().id);
    }
    const sync = (reports: object[]) =>
      server.app.inject({
        method: "POST",
        url: "/api/v1/nodes/sync",
        headers: { authorization: `Bearer ${NODE_TOKEN}` },
        payload: { node: "h1", version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 8192, cpus: 8 }, reports },
      });
    const report = (id: string, port: number, responding: boolean) => ({ id, state: "running", responding, sshPort: port, ip: null, error: null, detail: null });
    assert.equal((await sync(ids.map((id, i) => report(id, 2200 + i, true)))).statusCode, 200);
    const vm = async (id: string) => (await server.app.inject({ method: "GET", url: `/api/v1/vms/${id}`, headers: { authorization: `Bearer ${token}` } })).json<Vm>();
    for (const [i, id] of ids.entries()) {
      const now = await vm(id);
      assert.deepEqual([now.state, now.responding, now.ssh?.port], ["running", true, 2200 + i]);
      assert.ok(now.lastSeenAt, "a responding VM was seen at its node's sync");
    }
    const seenBefore = (await vm(ids[0]!)).lastSeenAt;
    assert.equal((await sync([report(ids[0]!, 2200, false), report(ids[1]!, 2201, true)])).statusCode, 200);
    const silent = await vm(ids[0]!);
    assert.equal(silent.responding, false);
    assert.equal(silent.lastSeenAt, seenBefore, "a VM that stopped answering was last seen at the sync before");
    assert.equal((await vm(ids[1]!)).responding, true);
  });
}

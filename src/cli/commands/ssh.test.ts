import { test } from "node:test";
import assert from "node:assert/strict";
import type { Vm } from "../../core/api.js";
import { Failure } from "../errors.js";
import { sampleVm } from "../../../test/support/fixtures.js";
import { buildSshArgv, splitAtDashes, withHostKeys } from "./ssh.js";

const running: Vm = sampleVm({
  name: "vm-003",
  state: "running",
  responding: true,
  ssh: { host: "127.0.0.1", port: 2222, user: "root" },
});

const setup = { knownHosts: "/home/alice/.config/vgrid/known_hosts", identities: [] };
const key = { type: "ssh-ed25519", key: "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", fingerprint: "SHA256:x" };

test("buildSshArgv pins the VM's known host key to its id, strictly, and puts the extra words after the host", () => {
  assert.deepEqual(buildSshArgv({ ...running, sshHostKeys: [key] }, ["uname", "-a"], { ...setup, identities: ["/home/alice/lab_key"] }), [
    "-p", "2222",
    "-o", "HostKeyAlias=vgrid-7f3c0000-0000-4000-8000-000000000001",
    "-o", "UserKnownHostsFile=/home/alice/.config/vgrid/known_hosts",
    "-o", "StrictHostKeyChecking=yes",
    "-i", "/home/alice/lab_key",
    "-l", "root",
    "127.0.0.1",
    "uname", "-a",
  ]);
  assert.ok(buildSshArgv(running, [], setup).includes("StrictHostKeyChecking=accept-new"), "a VM whose keys are not known yet: the first is taken");
});

test("buildSshArgv passes shell metacharacters through untouched, as single arguments", () => {
  const argv = buildSshArgv(running, ["echo $HOME; rm -rf /"], setup);
  assert.equal(argv.at(-1), "echo $HOME; rm -rf /");
  assert.equal(argv.filter((a) => a.includes("rm -rf")).length, 1);
});

test("the VM's lines in vgrid's known_hosts are replaced by its keys; other VMs' lines stay", () => {
  const before = "vgrid-other ssh-ed25519 AAAAother\nvgrid-7f3c0000-0000-4000-8000-000000000001 ssh-ed25519 AAAAold\n";
  assert.equal(
    withHostKeys(before, { ...running, sshHostKeys: [key] }),
    `vgrid-other ssh-ed25519 AAAAother\nvgrid-7f3c0000-0000-4000-8000-000000000001 ssh-ed25519 ${key.key}\n`,
  );
});

test("buildSshArgv refuses a VM without an ssh endpoint, naming its state", () => {
  assert.throws(() => buildSshArgv({ ...running, state: "provisioning", ssh: null }, [], setup), (err: unknown) => {
    return err instanceof Failure && err.message.includes("provisioning");
  });
});

for (const [argv, own, extra] of [
  [["ID"], ["ID"], []],
  [["ID", "--"], ["ID"], []],
  [["ID", "--", "echo", "hi"], ["ID"], ["echo", "hi"]],
  [["ID", "--", "-v", "--", "ls"], ["ID"], ["-v", "--", "ls"]],
] as const) {
  test(`splitAtDashes(${JSON.stringify(argv)})`, () => {
    assert.deepEqual(splitAtDashes([...argv]), { own, extra });
  });
}

test("buildSshArgv refuses an endpoint that ssh would read as an option", () => {
  for (const ssh of [
    { host: "-oProxyCommand=touch /tmp/x", port: 22, user: "root" },
    { host: "127.0.0.1", port: 22, user: "-oProxyCommand=x" },
    { host: "a b", port: 22, user: "root" },
  ]) {
    assert.throws(() => buildSshArgv({ ...running, ssh }, [], setup), (e: unknown) => e instanceof Failure && /not a plain host and user/.test(e.message));
  }
});

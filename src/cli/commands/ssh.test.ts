import { test } from "node:test";
import assert from "node:assert/strict";
import type { Vm } from "../../core/api.js";
import { Failure } from "../errors.js";
import { buildSshArgv, splitAtDashes } from "./ssh.js";

const running: Vm = {
  id: "7f3c0000-0000-4000-8000-000000000001",
  name: "vm-003",
  owner: "alice",
  image: "tiny",
  host: "local",
  state: "running",
  responding: true,
  lastSeenAt: null,
  memoryMiB: 256,
  cpus: 1,
  createdAt: "2030-01-01T12:00:00Z",
  expiresAt: null,
  ssh: { host: "127.0.0.1", port: 2222, user: "root" },
  ip: null,
  mac: null,
  error: null,
};

test("buildSshArgv pins the host key to the VM id and puts the extra words after the host", () => {
  assert.deepEqual(buildSshArgv(running, ["uname", "-a"]), [
    "-p",
    "2222",
    "-o",
    "HostKeyAlias=vgrid-7f3c0000-0000-4000-8000-000000000001",
    "-l",
    "root",
    "127.0.0.1",
    "uname",
    "-a",
  ]);
});

test("buildSshArgv passes shell metacharacters through untouched, as single arguments", () => {
  const argv = buildSshArgv(running, ["echo $HOME; rm -rf /"]);
  assert.equal(argv.at(-1), "echo $HOME; rm -rf /");
  assert.equal(argv.length, 8);
});

test("buildSshArgv refuses a VM without an ssh endpoint, naming its state", () => {
  assert.throws(() => buildSshArgv({ ...running, state: "provisioning", ssh: null }, []), (err: unknown) => {
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
    assert.throws(() => buildSshArgv({ ...running, ssh }, []), (e: unknown) => e instanceof Failure && /not a plain host and user/.test(e.message));
  }
});

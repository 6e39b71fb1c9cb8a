// The vgrid command against a real `vgrid up`, as a user at a shell: deploy --wait, ls, show,
// ssh with the real OpenSSH client, terminate; each with --json where scripts read it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import type { Vm } from "../../src/core/api.js";
import { eventually, sshKeygen } from "../support/processes.js";
import { Api, VGRID, cleanUp, createToken, startUp, tempDir, type Up } from "../support/vgrid.js";

const run = promisify(execFile);
let up: Up | undefined;
let keysDir: string;

before(async () => {
  keysDir = await tempDir("keys");
  up = await startUp({ maxVms: 2 });
});

after(async () => {
  await cleanUp(up?.proc, up?.dataDir);
  await cleanUp(undefined, keysDir);
});

test("bob deploys, lists, ssh-es in and terminates with the vgrid command", async () => {
  const key = await sshKeygen(keysDir, "bob");
  const token = await createToken(up!.dataDir, "bob smith");
  const env = { ...process.env, VGRID_URL: up!.url, VGRID_TOKEN: token };
  const vgrid = (...args: string[]) => run(VGRID, args, { env, timeout: 300_000 });
  const me = await new Api(up!.url, token).call<{ username: string }>("PUT", "/me/ssh-keys", { keys: [key.publicKey] });
  assert.equal(me.status, 200);

  const images = JSON.parse((await vgrid("images", "--json")).stdout) as Array<{ tag: string }>;
  assert.ok(images.some((i) => i.tag === "tiny"));

  const vm = JSON.parse((await vgrid("deploy", "tiny", "--wait", "--json")).stdout) as Vm;
  assert.equal(vm.owner, "bob_smith", "spaces in usernames become underscores");
  assert.equal(vm.state, "running");
  assert.equal(vm.responding, true, "--wait returns once the VM answers ssh");

  const listed = JSON.parse((await vgrid("ls", "--json")).stdout) as Vm[];
  assert.deepEqual(listed.map((v) => v.id), [vm.id]);
  const human = (await vgrid("show", vm.id)).stdout;
  assert.ok(human.includes(vm.name) && human.includes(String(vm.ssh!.port)), human);

  const ssh = await vgrid(
    "ssh", vm.id, "--",
    "-i", key.privateKey, "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
    "hostname; cat /etc/vgrid_username",
  );
  assert.deepEqual(ssh.stdout.trim().split("\n"), [vm.name, "bob_smith"]);

  const failing = await vgrid("ssh", vm.id, "--", "-i", key.privateKey, "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR", "exit 7").then(
    () => 0,
    (err: { code: number }) => err.code,
  );
  assert.equal(failing, 7, "vgrid ssh exits with ssh's own status");

  const terminating = JSON.parse((await vgrid("terminate", vm.id, "--json")).stdout) as Vm;
  assert.equal(terminating.state, "terminating");
  await eventually("the VM to be terminated", 60_000, async () => {
    const shown = JSON.parse((await vgrid("show", vm.id, "--json")).stdout) as Vm;
    return shown.state === "terminated" ? true : undefined;
  });
  const unknown = await vgrid("show", "00000000-0000-4000-8000-000000000000").then(
    () => ({ code: 0, stderr: "" }),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^vgrid: no VM with id '00000000-0000-4000-8000-000000000000' is yours\n$/);
});

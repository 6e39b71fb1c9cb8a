// `vgrid keys add | ls | rm` and `vgrid deploy --ssh-key` against a real server: the keys a user names
// become theirs (or one VM's), numbered as `keys ls` shows them, and remembered for `vgrid ssh`.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { sshFingerprint } from "../../src/core/ssh-keys.js";
import { sshKeygen } from "../support/processes.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";
import { VGRID, tempDir } from "../support/vgrid.js";

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    const run = promisify(execFile);
    let server: TestServer;
    let home: string;
    let env: NodeJS.ProcessEnv;

    before(async () => {
      server = await startTestServer({}, dialect);
      await server.bringNodeOnline();
      const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
      home = await tempDir("keys-home");
      await mkdir(join(home, ".ssh"), { mode: 0o700 });
      env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, VGRID_URL: url, VGRID_TOKEN: await server.tokenFor("carol") };
    });

    after(async () => {
      await server.close();
      await rm(home, { recursive: true, force: true });
    });

    const vgrid = (...args: string[]) => run(VGRID, args, { env, timeout: 30_000 });

    test("keys add, ls and rm change the caller's keys as ls numbers them; a key added twice is kept once", async () => {
      const laptop = await sshKeygen(join(home, ".ssh"), "laptop");
      const desk = await sshKeygen(join(home, ".ssh"), "desk");
      assert.match((await vgrid("keys", "ls")).stdout, /no ssh keys; add one with `vgrid keys add/);
      await vgrid("keys", "add", `${laptop.privateKey}.pub`);
      await vgrid("keys", "add", desk.privateKey); // the private key's path: its .pub beside it is read
      const again = await vgrid("keys", "add", `${laptop.privateKey}.pub`);
      assert.match(again.stderr, /already yours/);
      assert.deepEqual(JSON.parse((await vgrid("keys", "ls", "--json")).stdout), [laptop.publicKey, desk.publicKey]);
      const table = (await vgrid("keys", "ls")).stdout;
      assert.match(table, new RegExp(`^1\\s+ssh-ed25519\\s+${sshFingerprint(laptop.publicKey).replace(/[+/]/g, "\\$&")}\\s+laptop@test$`, "m"));
      assert.match(table, /^2\s+ssh-ed25519\s+SHA256:\S+\s+desk@test$/m);

      await vgrid("keys", "rm", "1");
      assert.deepEqual(JSON.parse((await vgrid("keys", "ls", "--json")).stdout), [desk.publicKey]);
      const tooFar = await vgrid("keys", "rm", "5").then(() => ({ code: 0, stderr: "" }), (e: { code: number; stderr: string }) => e);
      assert.equal(tooFar.code, 1);
      assert.match(tooFar.stderr, /you have 1 key; `vgrid keys ls` numbers them/);

      // Both private keys are remembered for vgrid ssh, once each.
      const remembered = JSON.parse(await readFile(join(home, ".config", "vgrid", "identities.json"), "utf8")) as string[];
      assert.deepEqual(remembered, [laptop.privateKey, desk.privateKey]);
    });

    test("deploy --ssh-key FILE gives that one key to the VM, not the caller's stored ones", async () => {
      const lab = await sshKeygen(join(home, ".ssh"), "lab");
      const vm = JSON.parse((await vgrid("deploy", "tiny", "--ssh-key", `${lab.privateKey}.pub`, "--json")).stdout) as { id: string };
      const row = await server.ctx.db.selectFrom("vms").select("ssh_keys").where("id", "=", vm.id).executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(row.ssh_keys), [lab.publicKey]);
      const missing = await vgrid("deploy", "tiny", "--ssh-key", join(home, "nope.pub")).then(() => ({ code: 0, stderr: "" }), (e: { code: number; stderr: string }) => e);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read the public key .*nope\.pub; make one with: ssh-keygen/);
    });
  });
}

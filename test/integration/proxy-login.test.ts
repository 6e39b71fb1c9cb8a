// The trusted reverse-proxy login (the seed's EnvUsernameVariable) with real nginx from Debian in front
// of vgrid, on SQLite and on PostgreSQL: nginx does HTTP Basic with a file Apache's htpasswd wrote and
// passes the user on in X-Remote-User; vgrid believes the header from nginx's address only. A client
// that forges the header straight to vgrid is ignored, and so is one that sends it through nginx.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { startNginx, type Nginx } from "../support/nginx.js";
import { DIALECTS, startTestServer, type TestServer } from "../support/server.js";

/** The nginx server block of the README's example, with the test's addresses. */
export function nginxProxyBlock(dir: string, vgridPort: number): string {
  return `    location / {
      auth_basic "vgrid";
      auth_basic_user_file ${join(dir, "users.htpasswd")};
      proxy_pass http://127.0.0.1:${vgridPort};
      # vgrid believes this header only from the address nginx connects from (trustedProxies).
      proxy_bind 127.0.0.2;
      proxy_set_header X-Remote-User $remote_user;
      # nginx checked the password: vgrid need not see it.
      proxy_set_header Authorization "";
      proxy_set_header Host $host;
      proxy_buffering off;
    }`;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

for (const dialect of DIALECTS) {
  describe(`on ${dialect}`, () => {
    let nginx: Nginx;
    let server: TestServer;
    let direct: string;

    before(async () => {
      const port = await pickFreePort("127.0.0.1");
      direct = `http://127.0.0.1:${port}`;
      nginx = await startNginx((dir) => nginxProxyBlock(dir, port));
      const file = join(nginx.dir, "users.htpasswd");
      execFileSync("htpasswd", ["-cbB", file, "Jane Doe", "jane pw"], { stdio: "ignore" });
      execFileSync("htpasswd", ["-bm", file, "bob", "bob pw"], { stdio: "ignore" });
      await chmod(file, 0o644);
      server = await startTestServer({ publicUrl: nginx.url, auth: { proxy: { header: "X-Remote-User", trustedProxies: ["127.0.0.2/32"] } } }, dialect);
      await server.app.listen({ host: "127.0.0.1", port });
    });
    after(async () => {
      await server?.close();
      await nginx?.stop();
    });

    test("through nginx, the user nginx logged in is the user vgrid answers for (spaces become underscores)", async () => {
      const me = await fetch(`${nginx.url}/api/v1/me`, { headers: { authorization: basic("Jane Doe", "jane pw") } });
      assert.equal(me.status, 200, await me.clone().text());
      assert.equal(((await me.json()) as { username: string }).username, "Jane_Doe");
      const front = await fetch(`${nginx.url}/`, { headers: { authorization: basic("bob", "bob pw") }, redirect: "manual" });
      assert.equal(front.status, 200, "the portal opens straight away: nginx says who it is");
      assert.match(await front.text(), /<div id="root">/);
      const wrong = await fetch(`${nginx.url}/api/v1/me`, { headers: { authorization: basic("bob", "nope") } });
      assert.equal(wrong.status, 401, "nginx refuses a wrong password");
    });

    test("a forged header is ignored: straight to vgrid, or through nginx under another login", async () => {
      const forged = await fetch(`${direct}/api/v1/me`, { headers: { "x-remote-user": "root-admin" } });
      assert.equal(forged.status, 401);
      const smuggled = await fetch(`${nginx.url}/api/v1/me`, { headers: { authorization: basic("bob", "bob pw"), "x-remote-user": "root-admin" } });
      assert.equal(((await smuggled.json()) as { username: string }).username, "bob");
      const hosts = await fetch(`${direct}/api/v1/hosts`, { headers: { "x-remote-user": "root-admin" } });
      assert.equal(hosts.status, 401, "no admin answers for a header from an untrusted peer");
      const users = await server.ctx.db.selectFrom("users").select("name").where("name", "in", ["root-admin", "Jane_Doe", "bob"]).execute();
      assert.deepEqual(users.map((u) => u.name).sort(), ["Jane_Doe", "bob", "root-admin"]);
    });

    test("a change through nginx from another site is refused; from the portal's own page it is made", async () => {
      const keys = { keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl jane"] };
      const put = (origin: string) =>
        fetch(`${nginx.url}/api/v1/me/ssh-keys`, {
          method: "PUT",
          headers: { authorization: basic("Jane Doe", "jane pw"), origin, "content-type": "application/json" },
          body: JSON.stringify(keys),
        });
      assert.equal((await put("https://evil.example")).status, 403);
      const me = async () => ((await (await fetch(`${nginx.url}/api/v1/me`, { headers: { authorization: basic("Jane Doe", "jane pw") } })).json()) as { sshKeys: string[] }).sshKeys;
      assert.deepEqual(await me(), []);
      assert.equal((await put(nginx.url)).status, 200);
      assert.deepEqual(await me(), keys.keys);
    });
  });
}

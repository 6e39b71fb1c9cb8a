// A node believes only its server (node-trust.test.ts: the server believes only its nodes): plain HTTP to another machine is refused unless node.toml says
// insecure = true; over HTTPS the server's certificate must be signed by serverCa (or a CA of the
// system), or the node never syncs and says why. `vgrid up --config` with [tls] needs nothing more.
// Real processes: `vgrid server` with [tls], `vgrid node` with the sim driver, certificates by openssl.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { get } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { makeCa, serverCertificate, type Ca } from "../support/certs.js";
import { Hopeless, eventually } from "../support/processes.js";
import { KEY } from "../support/server.js";
import { VGRID, cleanUp, startVgrid, tempDir, type VgridProcess } from "../support/vgrid.js";

const run = promisify(execFile);
const SECRET = "node-trust-test-secret-0123456789abcdef";

/** `vgrid ARGS` to its end: status and output. */
async function vgrid(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(VGRID, args, { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** GET `url` over HTTPS, trusting `ca`: its status and JSON body. */
async function fetchJson(url: string, ca: string, token?: string): Promise<{ status: number; json: unknown }> {
  const pem = await readFile(ca);
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return new Promise((resolve, reject) =>
    get(url, { ca: pem, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") as unknown }));
    }).on("error", reject),
  );
}

/** Starts `vgrid node` on `config` and waits until its output says `words`. */
async function startNodeUntil(config: string, words: RegExp, procs: VgridProcess[]): Promise<VgridProcess> {
  const node = startVgrid(["node", "--config", config]);
  procs.push(node);
  await eventually(`the node's log to say ${words}`, 30_000, async () => {
    if (!node.running) throw new Hopeless(node.output);
    return words.test(node.output) ? true : undefined;
  }, 100);
  return node;
}

function nodeToml(server: string, extra = ""): string {
  return `name = "sim1"\nserver = "${server}"\ntoken = "${SECRET}"\nstateDir = "state"\ndriver = "sim"\nsimBootSeconds = 0.2\n${extra}`;
}

describe("trusted nodes", () => {
  let dir: string;
  let site: Ca;
  let foreign: Ca;
  const procs: VgridProcess[] = [];

  before(async () => {
    dir = await tempDir("node-trust");
    site = await makeCa(dir, "site-ca");
    foreign = await makeCa(dir, "foreign-ca");
    await serverCertificate(site);
  });
  after(async () => {
    for (const proc of procs) await proc.stop("SIGTERM");
    await cleanUp(undefined, dir);
  });

  test("a node whose server is plain HTTP to another machine refuses to start, naming insecure", async () => {
    await writeFile(join(dir, "plain.toml"), nodeToml("http://10.0.0.1:8080"));
    const refused = await vgrid(["node", "--config", join(dir, "plain.toml")]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /plain\.toml: server: 'http:\/\/10\.0\.0\.1:8080' is plain HTTP to another machine/);
    assert.match(refused.stderr, /insecure = true/);
    assert.equal(refused.stderr.trim().split("\n").length, 1, "one line on stderr");

    // The operator who says so is believed (the node then polls, in vain here: nothing listens there).
    await writeFile(join(dir, "insecure.toml"), nodeToml("http://10.0.0.1:8080", "insecure = true\n"));
    const node = await startNodeUntil(join(dir, "insecure.toml"), /polling http:\/\/10\.0\.0\.1:8080/, procs);
    await node.stop("SIGTERM");
  });

  describe("against a server that serves HTTPS", () => {
    let port: number;
    let url: string;
    let server: VgridProcess;

    before(async () => {
      port = await pickFreePort("127.0.0.1");
      url = `https://127.0.0.1:${port}`;
      await writeFile(
        join(dir, "server.toml"),
        `admins = ["sam"]\n[listen]\nport = ${port}\n[tls]\ncert = "server.pem"\nkey = "server.key"\n[hostnames]\ncount = 5\n` +
          `[[hosts]]\nname = "sim1"\nmaxVms = 5\nmemoryMiB = 4096\ncpus = 4\ntoken = "${SECRET}"\n[[images]]\ntag = "tiny"\nname = "Tiny"\ndisk = "tiny.qcow2"\n`,
      );
      server = startVgrid(["server", "--config", join(dir, "server.toml")]);
      procs.push(server);
      await eventually("the server to answer over HTTPS", 30_000, async () => {
        if (!server.running) throw new Hopeless(server.output);
        return (await fetchJson(`${url}/healthz`, site.cert).catch(() => undefined))?.status === 200 ? true : undefined;
      }, 100);
      assert.match(server.output, new RegExp(`vgrid server listening on ${url}`), "the URL printed is https://");
    });

    test("a node whose serverCa is another CA's never syncs, and its log says why", async () => {
      for (const [name, extra, words] of [
        ["wrong-ca.toml", `serverCa = "${foreign.cert}"\n`, /the server's certificate is not trusted: .*signed by the CA of serverCa \(.*foreign-ca\.pem\)/],
        ["system-ca.toml", "", /the server's certificate is not trusted: .*set serverCa in node\.toml/],
      ] as const) {
        await writeFile(join(dir, name), nodeToml(url, extra));
        const node = await startNodeUntil(join(dir, name), words, procs);
        await node.stop("SIGTERM");
        assert.ok(!node.output.includes("connected to the server"), `${name}: ${node.output}`);
      }
      const token = (await vgrid(["token", "create", "--user", "sam", "--admin", "--config", join(dir, "server.toml")])).stdout.trim().split("\n").at(-1)!;
      const hosts = await fetchJson(`${url}/api/v1/hosts`, site.cert, token);
      assert.equal(hosts.status, 200, JSON.stringify(hosts.json));
      const sim1 = (hosts.json as { items: Array<{ name: string; online: boolean; lastSeenAt?: string | null }> }).items.find((h) => h.name === "sim1");
      assert.equal(sim1?.online, false, `the server never heard from the node: ${JSON.stringify(sim1)}`);
    });

    test("a node with serverCa = the site's CA syncs over HTTPS, and a deploy runs on it", async () => {
      await writeFile(join(dir, "good.toml"), nodeToml(url, `serverCa = "site-ca.pem"\n`));
      const node = await startNodeUntil(join(dir, "good.toml"), /connected to the server/, procs);
      const keyFile = join(dir, "key.pub");
      await writeFile(keyFile, `${KEY}\n`);
      const token = (await vgrid(["token", "create", "--user", "sam", "--config", join(dir, "server.toml")])).stdout.trim().split("\n").at(-1)!;
      // The CLI over HTTPS with the site's CA, as a user of a site CA would run it.
      const deployed = await vgrid(["deploy", "tiny", "--ssh-key", keyFile, "--wait", "--json"], { VGRID_URL: url, VGRID_TOKEN: token, NODE_EXTRA_CA_CERTS: site.cert });
      assert.equal(deployed.code, 0, deployed.stderr);
      const vm = JSON.parse(deployed.stdout) as { state: string; host: string; responding: boolean };
      assert.deepEqual([vm.state, vm.responding, vm.host], ["running", true, "sim1"]);
      await node.stop("SIGTERM");
    });
  });

  test("vgrid up --config with [tls] serves HTTPS, and its local node trusts its own server with no more config", async () => {
    // A site's certificate names the site, not 127.0.0.1: the local node trusts this very certificate.
    await serverCertificate(site, "portal", "DNS:vgrid.example.org");
    await writeFile(join(dir, "up.toml"), `[tls]\ncert = "portal.pem"\nkey = "portal.key"\n`);
    const data = join(dir, "up-data");
    const up = startVgrid(["up", "--data", data, "--listen", "127.0.0.1:0", "--max-vms", "1", "--config", join(dir, "up.toml")]);
    procs.push(up);
    const printed = await eventually("vgrid up to say it is up", 60_000, async () => {
      if (!up.running) throw new Hopeless(up.output);
      return up.output.includes("API docs:") ? /VGRID_URL=(\S+)/.exec(up.output)?.[1] : undefined;
    }, 100);
    assert.match(printed, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(up.output, /local node online/);
    await up.stop("SIGTERM");
  });
});

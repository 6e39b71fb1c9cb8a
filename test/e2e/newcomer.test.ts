// A newcomer who has only the README: its own commands, read from README.md (never copied here), run
// as written against a fresh data dir, from `vgrid up` to `vgrid ssh NAME -- hostname` with no terminal,
// first as the admin (the lines vgrid up prints), then as a user with a key of their own; then the
// cluster section's two files and commands through a deploy. The test only puts loopback addresses,
// free ports and temporary paths where the README names hosts and system paths.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { repoRoot } from "../../src/core/repo.js";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually, sshKeygen } from "../support/processes.js";
import { IMAGES, VgridProcess, cleanUp, createToken, tempDir } from "../support/vgrid.js";


/**
 * Runs `script` with bash as a person's shell would, with nothing on stdin (a pipe there would make
 * bash read the bashrc files as under rshd); rejects with its output when it fails.
 */
function shell(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-ec", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve({ stdout }) : reject(new Error(`'${script}' failed (${code}):\n${stdout}${stderr}`))));
  });
}
const README = await readFile(join(repoRoot(), "README.md"), "utf8");

/** The fenced block right after `<!-- test: NAME -->` in the README. */
function block(name: string): string {
  const at = README.indexOf(`<!-- test: ${name} -->`);
  assert.ok(at >= 0, `the README marks a block '${name}'`);
  const fence = /```[a-z]*\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(fence, `a fenced block follows the '${name}' mark`);
  return fence[1]!;
}

/** A shell line without its trailing comment (the README explains each line). */
function withoutComment(line: string): string {
  return line.replace(/\s+#\s.*$/, "").trim();
}

let dir: string;
let checkout: string;
const processes: VgridProcess[] = [];

before(async () => {
  dir = await tempDir("newcomer");
  // The newcomer's checkout: the real bin/ (so `$PWD/bin` on PATH is vgrid), their own data dir.
  checkout = join(dir, "checkout");
  await mkdir(checkout);
  await symlink(join(repoRoot(), "bin"), join(checkout, "bin"));
});

after(async () => {
  for (const proc of processes.reverse()) await proc.stop("SIGTERM");
  await cleanUp(undefined, dir);
});

/** The environment of a person at a shell: their own HOME and the machine's PATH, nothing of ours. */
function personEnv(home: string): NodeJS.ProcessEnv {
  return { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" };
}

/** Runs `lines` one by one as a person would type them; `export` lines carry on; NAME is filled in from deploy. */
async function type(lines: string[], env: NodeJS.ProcessEnv, replace: (line: string) => string = (l) => l): Promise<{ name: string; outputs: string[] }> {
  let environment = { ...env };
  let name = "";
  const outputs: string[] = [];
  for (const raw of lines.map(withoutComment).filter((l) => l.length > 0)) {
    if (/\bNAME\b/.test(raw) && name === "") assert.fail(`'${raw}' names a VM before any was deployed`);
    const line = replace(raw).replaceAll("NAME", name);
    if (line.startsWith("export ")) {
      const { stdout } = await shell(`${line}\nenv -0`, checkout, environment, 120_000);
      environment = Object.fromEntries(stdout.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
      continue;
    }
    // stdin is not a terminal: nothing may wait for an answer at a prompt.
    const { stdout } = await shell(line, checkout, environment, 600_000);
    outputs.push(stdout);
    const deployed = /^deployed (\S+) /m.exec(stdout);
    if (deployed) name = deployed[1]!;
  }
  return { name, outputs };
}

/** Waits until the VM NAME is terminated: its node has stopped its QEMU and deleted its files. */
async function untilTerminated(name: string, env: NodeJS.ProcessEnv): Promise<void> {
  await eventually(`${name} to be terminated`, 120_000, async () => {
    const { stdout } = await shell(`vgrid show ${name} --json`, checkout, env, 30_000).catch(() => ({ stdout: "{}" }));
    return (JSON.parse(stdout) as { state?: string }).state === "terminated" ? true : undefined;
  }, 500);
}

test("the README's first hour works as written: vgrid up's lines as the admin, then a user with a new key", async () => {
  const port = await pickFreePort("127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  const adminHome = join(dir, "admin-home");
  await mkdir(join(adminHome, ".ssh"), { recursive: true, mode: 0o700 });
  await sshKeygen(join(adminHome, ".ssh"), "id_ed25519");

  // make demo runs `bin/vgrid up` in the checkout; here on a free port.
  const up = new VgridProcess(
    spawn(join(checkout, "bin", "vgrid"), ["up", "--listen", `127.0.0.1:${port}`], { cwd: checkout, env: personEnv(adminHome), stdio: ["ignore", "pipe", "pipe"] }),
  );
  processes.push(up);
  await eventually("vgrid up to print what to type", 120_000, async () => {
    if (!up.running) throw new Hopeless(`vgrid up exited: ${up.output}`);
    return up.output.includes("API docs:") ? true : undefined;
  }, 200);
  const printed = up.output.split("\n");
  const from = printed.findIndex((l) => l.startsWith("Log in from a shell as the admin with:"));
  assert.ok(from >= 0, up.output);
  const adminLines: string[] = [];
  for (const line of printed.slice(from + 1)) {
    if (!line.startsWith("  ")) break;
    adminLines.push(line.trim());
  }
  assert.ok(adminLines.some((l) => l.startsWith("vgrid deploy")), `vgrid up says how to deploy: ${adminLines.join(" | ")}`);
  assert.ok(up.output.includes(join(adminHome, ".ssh", "id_ed25519.pub")), "vgrid up says whose keys the admin's VMs take");

  // The login link vgrid up prints logs a browser in as the admin, once.
  const link = printed[printed.findIndex((l) => l.startsWith("Log in from a browser as the admin")) + 1]?.trim() ?? "";
  assert.ok(link.startsWith(`${url}/auth/link/`), up.output);
  const landed = await fetch(link, { redirect: "manual" });
  assert.equal(landed.status, 303);
  const cookie = (landed.headers.get("set-cookie") ?? "").split(";")[0]!;
  assert.deepEqual(
    await (await fetch(`${url}/api/v1/me`, { headers: { cookie } })).json().then((me) => [(me as { username: string }).username, (me as { admin: boolean }).admin]),
    ["admin", true],
  );
  assert.equal((await fetch(link, { redirect: "manual" })).status, 410, "a login link works once");

  const admin = await type(adminLines, personEnv(adminHome));
  assert.ok(admin.name, `deploy printed the VM's name: ${admin.outputs.join("")}`);
  assert.equal(admin.outputs.at(-1)?.trim(), admin.name.split(".")[0], "vgrid ssh NAME -- hostname answers with the VM's hostname");

  // A user with no key yet, following the README's user section.
  const aliceHome = join(dir, "alice-home");
  await mkdir(aliceHome, { mode: 0o700 });
  const alice = await type(block("newcomer").split("\n"), personEnv(aliceHome), (l) => l.replaceAll("http://127.0.0.1:8080", url));
  assert.ok(alice.name && alice.name !== admin.name, `alice got a VM of her own: ${alice.name}`);
  const hostnameOut = alice.outputs.find((o, i) => i > 0 && o.trim() === alice.name.split(".")[0]);
  assert.ok(hostnameOut, `vgrid ssh NAME -- hostname printed ${alice.name}: ${JSON.stringify(alice.outputs)}`);
  assert.match(alice.outputs.join(""), new RegExp(`${alice.name}.*terminating`), "vgrid terminate NAME says so");
  await untilTerminated(alice.name, { ...personEnv(aliceHome), PATH: `${join(checkout, "bin")}:${process.env.PATH ?? ""}`, VGRID_URL: url, VGRID_TOKEN: await createToken(join(checkout, "vgrid-data"), "alice") });
});

test("the README's cluster section: its server.toml and node.toml, as written but for hosts and paths, run a VM", async () => {
  const port = await pickFreePort("127.0.0.1");
  const images = join(dir, "images");
  await mkdir(images);
  for (const f of ["tiny.qcow2", "tiny.vmlinuz", "tiny.initrd", "tiny.json"]) await copyFile(join(IMAGES, f), join(images, f));
  const serverToml = block("server.toml")
    .replace('host = "0.0.0.0"', 'host = "127.0.0.1"')
    .replace("port = 8080", `port = ${port}`)
    .replace('"/var/lib/vgrid/vgrid.db"', JSON.stringify(join(dir, "vgrid.db")));
  const nodeToml = block("node.toml")
    .replace('"http://vgrid.example.org:8080"', JSON.stringify(`http://127.0.0.1:${port}`))
    .replace('"/var/lib/vgrid/node"', JSON.stringify(join(dir, "node")))
    .replace('"/var/lib/vgrid/images"', JSON.stringify(images))
    .replace('sshBind = "0.0.0.0"', 'sshBind = "127.0.0.1"')
    .replace('"hv1.example.org"', '"127.0.0.1"');
  await writeFile(join(checkout, "server.toml"), serverToml);
  await writeFile(join(checkout, "node.toml"), nodeToml);

  const home = join(dir, "operator-home");
  await mkdir(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  await sshKeygen(join(home, ".ssh"), "id_ed25519");
  const env = { ...personEnv(home), PATH: `${join(checkout, "bin")}:${process.env.PATH ?? ""}` };
  const commands = block("cluster").split("\n").map(withoutComment).filter(Boolean);
  assert.deepEqual(commands.map((c) => c.split(" ").slice(0, 3).join(" ")), ["vgrid server --config", "vgrid token create", "vgrid node --config"]);
  const [serverLine, tokenLine, nodeLine] = commands as [string, string, string];

  const server = new VgridProcess(spawn("bash", ["-c", `exec ${serverLine}`], { cwd: checkout, env, stdio: ["ignore", "pipe", "pipe"] }));
  processes.push(server);
  await eventually("vgrid server to listen", 60_000, async () => {
    if (!server.running) throw new Hopeless(`vgrid server exited: ${server.output}`);
    return server.output.includes("listening on") ? true : undefined;
  }, 200);
  assert.match(server.output, /no one can log in yet: .*vgrid token create --user NAME --admin --config/, "it says how to mint the first token");
  const { stdout } = await shell(tokenLine, checkout, env, 60_000);
  const token = stdout.trim().split("\n").at(-1)!;
  const node = new VgridProcess(spawn("bash", ["-c", `exec ${nodeLine}`], { cwd: checkout, env, stdio: ["ignore", "pipe", "pipe"] }));
  processes.push(node);
  // What the README's comment on the node line says it prints.
  const said = /# on hv1; it says "([^"]+)"/.exec(block("cluster"))?.[1];
  assert.ok(said, "the README says what the node prints once it is connected");
  await eventually(`the node to say '${said}'`, 60_000, async () => {
    if (!node.running) throw new Hopeless(`vgrid node exited: ${node.output}`);
    return node.output.includes(said) ? true : undefined;
  }, 200);

  const user = { ...env, VGRID_URL: `http://127.0.0.1:${port}`, VGRID_TOKEN: token };
  const { outputs, name } = await type(
    [`vgrid keys add ${join(home, ".ssh", "id_ed25519.pub")}`, "vgrid deploy tiny --wait", "vgrid ssh NAME -- hostname", "vgrid terminate NAME"],
    user,
  );
  assert.ok(name, outputs.join(""));
  assert.equal(outputs[2]?.trim(), name.split(".")[0], "the cluster's VM answers ssh with its hostname");
  await untilTerminated(name, user);
});

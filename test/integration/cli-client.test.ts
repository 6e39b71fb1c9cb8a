// What a user of the vgrid command sees against a server: the real bin/vgrid, run as a child process.
// The server here is a small fake of the REST API (node:http), on purpose: this tests only the CLI's client side
// (requests, output, exit statuses); the real server is tested elsewhere.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Vm } from "../../src/core/api.js";
import { sampleVm } from "../support/fixtures.js";

const repoRoot = path.resolve(import.meta.dirname, "../../..");
const vgrid = path.join(repoRoot, "bin", "vgrid");
const TOKEN = "test-token-123";
const RUNNING_ID = "11111111-1111-4111-8111-111111111111";
/** A VM whose node reported an error carrying terminal escapes: clear the screen, set the title. */
const HOSTILE_ID = "33333333-3333-4333-8333-333333333333";
const HOSTILE_ERROR = "disk full\u001b[2J\u001b]0;pwned\u0007";
/** An id the server answers with a problem whose detail carries an escape. */
const HOSTILE_MISSING = "44444444-4444-4444-8444-444444444444";

let server: Server;
let url: string;
let scratch: string;
const vms = new Map<string, Vm>();
const TINY = { tag: "tiny", name: "Tiny test image", minMemoryMiB: 64, maxMemoryMiB: 1024, defaultMemoryMiB: 128, maxCpus: 2, boot: "direct" };
const requests: { method: string; path: string; body: unknown; auth: string | undefined }[] = [];

const HOST_KEY = {
  type: "ssh-ed25519",
  key: "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  fingerprint: "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
};

function makeVm(id: string, fields: Partial<Vm>): Vm {
  return sampleVm({
    id,
    name: "vm-001",
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 4 * 3600_000).toISOString(),
    ...fields,
  });
}

/** A new VM goes one step further at each GET, as a node would move it along. */
function advance(vm: Vm): Vm {
  if (vm.image === "broken") return { ...vm, state: "failed", error: "qemu exited with status 1: no bootable device" };
  if (vm.state === "pending") return { ...vm, state: "provisioning" };
  if (vm.state === "provisioning") return { ...vm, state: "running", ssh: { host: "127.0.0.1", port: 2201, user: "root" } };
  if (vm.state === "running" && !vm.responding) return { ...vm, responding: true, lastSeenAt: new Date().toISOString() };
  return vm;
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json") {
  res.writeHead(status, { "content-type": type });
  res.end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, slug: string, detail: string) {
  send(res, status, { type: `/problems/${slug}`, title: slug, status, detail }, "application/problem+json");
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let text = "";
  for await (const chunk of req) text += String(chunk);
  const path = req.url ?? "";
  requests.push({ method: req.method ?? "", path, body: text ? JSON.parse(text) : undefined, auth: req.headers.authorization });
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return problem(res, 401, "unauthorized", "log in first");
  const vmPath = /^\/api\/v1\/vms\/([^/?]+)(\/extend|\/stop|\/start|\/reboot)?$/.exec(path);
  const vm = vmPath ? vms.get(vmPath[1]!) : undefined;
  if (vmPath?.[1] === HOSTILE_MISSING) return problem(res, 404, "not-found", "no such VM\u001b[2J, not yours");
  if (vmPath && !vm) return problem(res, 404, "not-found", `VM '${vmPath[1]}' does not exist or is not yours; see \`vgrid ls\``);
  if (req.method === "GET" && path === "/api/v1/images") return send(res, 200, { items: [TINY] });
  if (req.method === "GET" && /^\/api\/v1\/vms(\?|$)/.test(path)) {
    const history = new URLSearchParams(path.split("?")[1] ?? "").get("state") === "terminated";
    return send(res, 200, { items: [...vms.values()].filter((v) => (v.state === "terminated") === history) });
  }
  if (req.method === "POST" && path === "/api/v1/vms") {
    const id = `22222222-2222-4222-8222-${String(vms.size).padStart(12, "0")}`;
    const body = JSON.parse(text) as { image: string };
    const vm = makeVm(id, { name: `vm-00${vms.size + 1}`, image: body.image });
    vms.set(id, vm);
    return send(res, 201, vm);
  }
  if (vm && req.method === "GET" && !vmPath?.[2]) {
    const next = advance(vm);
    vms.set(vm.id, next);
    return send(res, 200, next);
  }
  if (vm && req.method === "DELETE" && !vmPath?.[2]) {
    const { reason = null } = (text ? JSON.parse(text) : {}) as { reason?: string };
    return send(res, 202, { ...vm, state: "terminating", terminatedBy: "alice", reason });
  }
  if (vm && req.method === "POST" && vmPath?.[2] && vmPath[2] !== "/extend") {
    const state = { "/stop": "stopped", "/start": "provisioning", "/reboot": "running" }[vmPath[2]] as Vm["state"];
    return send(res, 202, { ...vm, state, transition: vmPath[2] === "/reboot" ? "rebooting" : null });
  }
  if (vm && req.method === "POST" && vmPath?.[2]) {
    const { hours } = JSON.parse(text) as { hours: number };
    return send(res, 200, { ...vm, expiresAt: new Date(Date.now() + hours * 3600_000).toISOString() });
  }
  return problem(res, 404, "not-found", `no route ${req.method} ${path}`);
}

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/vgrid with only the environment given (never the developer's own VGRID_TOKEN). */
function runVgrid(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(vgrid, args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, VGRID_URL: url, VGRID_TOKEN: TOKEN, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "vgrid-cli-"));
  vms.set(
    RUNNING_ID,
    makeVm(RUNNING_ID, {
      state: "running",
      responding: true,
      ssh: { host: "127.0.0.1", port: 2299, user: "root" },
      expiresAt: new Date(Date.now() + 150 * 60_000).toISOString(),
      sshHostKeys: [HOST_KEY],
    }),
  );
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(scratch, { recursive: true, force: true });
});

test("ls --json prints the VMs as a JSON array, asked with the token", async () => {
  const { status, stdout, stderr } = await runVgrid(["ls", "--json"]);
  assert.equal(status, 0, stderr);
  const listed = JSON.parse(stdout) as Vm[];
  assert.ok(Array.isArray(listed));
  assert.ok(listed.some((vm) => vm.id === RUNNING_ID));
  assert.equal(requests.at(-1)?.auth, `Bearer ${TOKEN}`);
});

test("ls prints a table a person can read", async () => {
  const { status, stdout } = await runVgrid(["ls"]);
  assert.equal(status, 0);
  assert.match(stdout, /^ID\s+NAME\s+IMAGE\s+STATE\s+RESPONDING\s+HOST\s+EXPIRES$/m);
  assert.match(stdout, /^11111111\s+vm-001\s+tiny\s+running\s+yes\s+local\s+in 2h30m$/m);
});

test("show of an unknown id exits 1 with the server's detail as one line", async () => {
  const unknown = "33333333-3333-4333-8333-333333333333";
  const { status, stdout, stderr } = await runVgrid(["show", unknown]);
  assert.equal(status, 1);
  assert.equal(stdout, "");
  assert.deepEqual(lines(stderr), [`vgrid: VM '${unknown}' does not exist or is not yours; see \`vgrid ls\``]);
});

test("show finds a VM by the short id ls prints and by its name; an unknown name exits 1 saying so", async () => {
  for (const ref of [RUNNING_ID.slice(0, 8), "vm-001"]) {
    const { status, stdout, stderr } = await runVgrid(["show", ref, "--json"]);
    assert.equal(status, 0, stderr);
    assert.equal((JSON.parse(stdout) as Vm).id, RUNNING_ID, ref);
  }
  const { status, stderr } = await runVgrid(["show", "nope"]);
  assert.equal(status, 1);
  assert.deepEqual(lines(stderr), ["vgrid: no VM with id or name 'nope' is yours; `vgrid ls` lists your VMs"]);
});

test("deploy tiny --wait --json follows the VM until it runs and responds, then prints it", async () => {
  const { status, stdout, stderr } = await runVgrid(["deploy", "tiny", "--memory", "512", "--wait", "--json"]);
  assert.equal(status, 0, stderr);
  const vm = JSON.parse(stdout) as Vm;
  assert.equal(vm.state, "running");
  assert.equal(vm.responding, true);
  assert.deepEqual(requests.find((r) => r.method === "POST")?.body, { image: "tiny", memoryMiB: 512 });
  assert.match(stderr, /provisioning/);
  assert.match(stderr, /ready/);
});

test("deploy --wait of a VM that fails exits 1 with the VM's error", async () => {
  const { status, stdout, stderr } = await runVgrid(["deploy", "broken", "--wait"]);
  assert.equal(status, 1);
  assert.equal(stdout, "");
  assert.match(lines(stderr).at(-1) ?? "", /^vgrid: vm-\d+ \(\w+\) is failed: qemu exited with status 1: no bootable device$/);
});

test("show prints the VM's fields and how to connect", async () => {
  const { status, stdout } = await runVgrid(["show", RUNNING_ID]);
  assert.equal(status, 0);
  assert.match(stdout, /^state\s+running$/m);
  assert.match(stdout, /^ssh\s+vgrid ssh vm-001\s+\(or: ssh -p 2299 root@127\.0\.0\.1\)$/m);
  assert.match(stdout, /^host keys\s+SHA256:\+DiY3wvvV6TuJJhbpZisF\/zLDA0zPMSvHdkr4UvCOqU \(ssh-ed25519\)$/m);
});

test("show, ls and errors print what the server sent with its control characters escaped, never raw", async (t) => {
  vms.set(HOSTILE_ID, makeVm(HOSTILE_ID, { name: "vm-666\u001b[31m", state: "failed", error: HOSTILE_ERROR }));
  t.after(() => vms.delete(HOSTILE_ID));
  const shown = await runVgrid(["show", HOSTILE_ID]);
  assert.equal(shown.status, 0);
  assert.match(shown.stdout, /^error\s+disk full\\u001b\[2J\\u001b\]0;pwned\\u0007$/m);
  const listed = await runVgrid(["ls"]);
  assert.equal(listed.status, 0);
  assert.match(listed.stdout, /vm-666\\u001b\[31m/);
  const missing = await runVgrid(["show", HOSTILE_MISSING]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such VM\\u001b\[2J, not yours/);
  for (const out of [shown.stdout, listed.stdout, missing.stderr]) {
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, `no raw control character in: ${JSON.stringify(out)}`);
  }
});

test("images --json prints the catalog as a JSON array", async () => {
  const { status, stdout } = await runVgrid(["images", "--json"]);
  assert.equal(status, 0);
  assert.deepEqual(JSON.parse(stdout), [TINY]);
});

test("extend --hours asks for the hours and prints the new expiry", async () => {
  const { status, stdout } = await runVgrid(["extend", RUNNING_ID, "--hours", "1.5", "--json"]);
  assert.equal(status, 0);
  assert.deepEqual(requests.at(-1)?.body, { hours: 1.5 });
  assert.equal((JSON.parse(stdout) as Vm).id, RUNNING_ID);
});

test("stop, start and reboot ask the server with no body, or with force; --json prints the VM", async () => {
  const rows: Array<[string[], string, unknown, string]> = [
    [["stop", RUNNING_ID, "--json"], "/stop", undefined, "stopped"],
    [["stop", RUNNING_ID, "--force", "--json"], "/stop", { force: true }, "stopped"],
    [["start", RUNNING_ID, "--json"], "/start", undefined, "provisioning"],
    [["reboot", RUNNING_ID, "--force", "--json"], "/reboot", { force: true }, "running"],
  ];
  for (const [argv, suffix, body, state] of rows) {
    const { status, stdout, stderr } = await runVgrid(argv);
    assert.equal(status, 0, stderr);
    assert.deepEqual([requests.at(-1)?.method, requests.at(-1)?.path, requests.at(-1)?.body], ["POST", `/api/v1/vms/${RUNNING_ID}${suffix}`, body], argv.join(" "));
    assert.equal((JSON.parse(stdout) as Vm).state, state);
  }
  const said = await runVgrid(["reboot", RUNNING_ID]);
  assert.match(said.stdout, /is running: its node reboots it/);
  assert.equal((await runVgrid(["start", RUNNING_ID, "--hard"])).status, 2, "an unknown flag is a usage error");
});

test("terminate --json prints the VM, now terminating; without --reason the request has no body", async () => {
  const { status, stdout } = await runVgrid(["terminate", RUNNING_ID, "--json"]);
  assert.equal(status, 0);
  assert.equal(requests.at(-1)?.method, "DELETE");
  assert.equal(requests.at(-1)?.body, undefined);
  assert.equal((JSON.parse(stdout) as Vm).state, "terminating");
});

test("terminate --reason sends the reason, which the VM then carries", async () => {
  const { status, stdout } = await runVgrid(["terminate", RUNNING_ID, "--reason", "host hv1 is retired", "--json"]);
  assert.equal(status, 0, stdout);
  assert.deepEqual(requests.at(-1)?.body, { reason: "host hv1 is retired" });
  const vm = JSON.parse(stdout) as Vm;
  assert.deepEqual([vm.terminatedBy, vm.reason], ["alice", "host hv1 is retired"]);
  const missing = await runVgrid(["terminate", RUNNING_ID, "--reason"]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--reason needs a value/);
});

test("a usage error exits 2 without asking the server", async () => {
  const before = requests.length;
  const { status, stderr } = await runVgrid(["deploy", "tiny", "--memory", "abc"]);
  assert.equal(status, 2);
  assert.match(stderr, /--memory/);
  assert.match(stderr, /usage: vgrid deploy/);
  assert.equal(requests.length, before);
});

test("an unreachable server exits 1 with a line naming the URL", async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
  const { status, stderr } = await runVgrid(["ls"], { VGRID_URL: deadUrl });
  assert.equal(status, 1);
  assert.equal(lines(stderr).length, 1);
  assert.ok(stderr.includes(deadUrl), stderr);
  assert.match(stderr, /vgrid up|VGRID_URL/);
});

test("without VGRID_TOKEN the command says how to get one", async () => {
  const { status, stderr } = await runVgrid(["ls"], { VGRID_TOKEN: "" });
  assert.equal(status, 1);
  assert.match(stderr, /^vgrid: VGRID_TOKEN is not set.*vgrid token create --user NAME.*\n$/);
});

test("ssh ID -- echo hi runs VGRID_SSH with the VM's port, alias, user and host, and exits with its status", async () => {
  const fakeSsh = path.join(scratch, "fake-ssh");
  await writeFile(fakeSsh, '#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\nexit 3\n');
  await chmod(fakeSsh, 0o755);
  const { status, stdout, stderr } = await runVgrid(["ssh", RUNNING_ID, "--", "echo", "hi"], { VGRID_SSH: fakeSsh });
  assert.equal(status, 3, stderr);
  const knownHosts = path.join(scratch, ".config", "vgrid", "known_hosts");
  assert.deepEqual(lines(stdout), [
    "-p",
    "2299",
    "-o",
    `HostKeyAlias=vgrid-${RUNNING_ID}`,
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-l",
    "root",
    "127.0.0.1",
    "echo",
    "hi",
  ]);
  assert.equal(await readFile(knownHosts, "utf8"), `vgrid-${RUNNING_ID} ${HOST_KEY.type} ${HOST_KEY.key}\n`, "the VM's host key, known before ssh connects");
});

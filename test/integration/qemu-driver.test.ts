// A real VM through the qemu driver: the owner gets in as root with their key, its console holds the
// kernel's boot lines, an agent restart re-adopts the VM (and its console's run) without a second
// QEMU, a QEMU that does not answer QMP is "unknown" (never killed nor doubled by start), and destroy
// leaves no process, file or port behind.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import { Invalid } from "../../src/core/errors.js";
import type { VmSpec } from "../../src/core/protocol.js";
import { detectAccel } from "../../src/node/drivers/qemu/accel.js";
import { QemuDriver, type QemuDriverOptions } from "../../src/node/drivers/qemu/driver.js";
import { isPortFree } from "../../src/node/drivers/qemu/ports.js";
import { probeSshBanner } from "../../src/node/liveness.js";
import { builtImagesDir } from "../../src/core/repo.js";

const run = promisify(execFile);

const imageDirectory = builtImagesDir();
/** Generous: under TCG on a busy 2-core node the tiny guest answers ssh in 5-10 s. */
const BANNER_WAIT_MS = 180_000;
const OWNER = "alice_test";
/** The test aborts no verb (the agent does, at shutdown: see src/node/agent.ts). */
const never = new AbortController().signal;

/** PIDs of live processes whose command line names `dir` (what an operator would find with ps). */
async function processesNaming(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0").some((arg) => arg.includes(dir))) pids.push(Number(name));
  }
  return pids;
}

/** Last resort after a failed test: no QEMU of ours may outlive the test run. */
async function killProcessesNaming(dir: string): Promise<void> {
  for (const pid of await processesNaming(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 100 && (await processesNaming(dir)).length > 0; i++) await sleep(50);
}

async function readTinyImage(): Promise<VmSpec["image"]> {
  const manifest = path.join(imageDirectory, "tiny.json");
  assert.ok(existsSync(path.join(imageDirectory, "tiny.qcow2")), `no tiny image in ${imageDirectory}: run make build`);
  const json = JSON.parse(await readFile(manifest, "utf8")) as { cmdline?: string; kernel?: string; initrd?: string };
  return {
    tag: "tiny",
    disk: "tiny.qcow2",
    kernel: path.basename(json.kernel ?? "tiny.vmlinuz"),
    initrd: path.basename(json.initrd ?? "tiny.initrd"),
    cmdline: json.cmdline ?? "console=ttyS0 panic=-1 vgrid_username=${username}",
  };
}

describe("qemu driver with the tiny image", () => {
  let stateDir: string;
  let keyDir: string;
  let spec: VmSpec;
  let options: QemuDriverOptions;
  const drivers: QemuDriver[] = [];
  let vmDir: string;
  let sshPort: number;
  let qemuPid: number;
  /** Where the first driver's read of the console ended. */
  let consoleAt: { stream: string; offset: number };
  const logs: { msg: string; fields: Record<string, unknown> | undefined }[] = [];

  before(async () => {
    // Short paths under /tmp: a unix socket path (qmp.sock) may not exceed 107 bytes.
    stateDir = await mkdtemp(path.join(os.tmpdir(), "vgrid-qd-"));
    keyDir = await mkdtemp(path.join(os.tmpdir(), "vgrid-qd-key-"));
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vgrid test key", "-f", path.join(keyDir, "id")], {
      timeout: 30_000,
    });
    const publicKey = (await readFile(path.join(keyDir, "id.pub"), "utf8")).trim();
    const id = randomUUID();
    spec = {
      id,
      machineName: `vgrid-${id.slice(0, 12)}`,
      hostname: "vm-test-1",
      extra: "",
      mac: "52:54:00:7e:57:01",
      owner: OWNER,
      memoryMiB: 256,
      cpus: 1,
      sshKeys: [publicKey],
      image: await readTinyImage(),
      desired: "running",
      requestId: null,
    };
    vmDir = path.join(stateDir, "vms", id);
    options = {
      // Probed once, as a node does at start; both drivers of the story share the answer.
      accel: detectAccel({ log: (msg) => console.error(`[qemu driver] ${msg}`) }),
      stateDir,
      imageDirectory,
      sshBind: "127.0.0.1",
      log: (msg, fields) => {
        logs.push({ msg, fields });
        console.error(`[qemu driver] ${msg} ${JSON.stringify(fields ?? {})}`);
      },
    };
  });

  after(async () => {
    for (const driver of drivers) {
      await driver.destroy(spec.id, never).catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
      await driver.close();
    }
    if (vmDir !== undefined) await killProcessesNaming(vmDir);
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
    if (keyDir !== undefined) await rm(keyDir, { recursive: true, force: true });
  });

  it("refuses an image disk outside the image directory and creates nothing", async () => {
    const driver = new QemuDriver(options);
    drivers.push(driver);
    const sneaky = { ...spec, id: randomUUID(), image: { ...spec.image, disk: "../etc/passwd" } };
    await assert.rejects(driver.create(sneaky, never), (err: unknown) => {
      assert.ok(err instanceof Invalid, String(err));
      assert.equal(err.field, "image.disk");
      assert.match(err.message, /plain file name/);
      return true;
    });
    assert.deepEqual(await readdir(stateDir), []);
    assert.deepEqual(await driver.list(never), []);
  });

  it("starts only what create() made: start() of a VM without files runs no QEMU", async () => {
    const driver = drivers[0]!;
    const unmade = { ...spec, id: randomUUID() };
    await assert.rejects(driver.start(unmade, never), /has no spec\.json on this node: create\(\) makes it before start\(\)/);
    assert.deepEqual(await processesNaming(path.join(stateDir, "vms", unmade.id)), []);
    assert.deepEqual(await driver.list(never), []);
  });

  it("boots the VM and lets the owner in as root with their key", async (t) => {
    const driver = drivers[0]!;
    const createdAt = Date.now();
    await driver.create(spec, never);
    const startedAt = Date.now();
    const observation = await driver.start(spec, never);
    const runningAt = Date.now();
    assert.equal(observation.state, "running");
    assert.ok(observation.sshPort !== null);
    sshPort = observation.sshPort;

    const deadline = Date.now() + BANNER_WAIT_MS;
    while (!(await probeSshBanner("127.0.0.1", sshPort, 2_000))) {
      assert.ok(Date.now() < deadline, `no ssh banner on port ${sshPort} after ${BANNER_WAIT_MS} ms`);
      await sleep(250);
    }
    const spawnToRunning = logs.find((l) => l.msg === "qemu runs the vm")?.fields?.msFromSpawn;
    t.diagnostic(
      `create: ${startedAt - createdAt} ms; start(): ${runningAt - startedAt} ms (waiting for the accelerator probe included), ` +
        `of which QEMU spawn to QMP running: ${String(spawnToRunning)} ms; ` +
        `start() returned to ssh banner: ${Date.now() - runningAt} ms`,
    );

    const { stdout } = await run(
      "ssh",
      [
        "-i", path.join(keyDir, "id"),
        "-p", String(sshPort),
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=30",
        "-o", "LogLevel=ERROR",
        "root@127.0.0.1",
        "hostname; cat /proc/cmdline",
      ],
      { timeout: 60_000 },
    );
    const [hostname, cmdline] = stdout.split("\n");
    assert.equal(hostname, "vm-test-1");
    assert.ok(cmdline?.split(" ").includes(`vgrid_username=${OWNER}`), `kernel command line: ${cmdline}`);

    // QEMU wrote the guest's serial console: the kernel's boot lines, then /init's.
    const console = await driver.readConsole(spec.id, null, 1024 * 1024, never);
    assert.ok(console !== null && console.offset === 0);
    assert.match(console.bytes.toString(), /^\[ *0\.0+\] Linux version /);
    assert.match(console.bytes.toString(), /-----END SSH HOST KEY KEYS-----/);
    consoleAt = { stream: console.stream, offset: console.offset + console.bytes.length };
  });

  it("re-adopts the running VM after an agent restart, without a second QEMU", async () => {
    const before = drivers[0]!;
    const [pid, ...others] = await processesNaming(vmDir);
    assert.ok(pid !== undefined && others.length === 0, `one QEMU names the VM dir, found ${others.length + 1}`);
    qemuPid = pid;
    await before.close();

    const driver = new QemuDriver(options);
    drivers.push(driver);
    assert.deepEqual(await driver.list(never), [spec.id]);
    assert.deepEqual(await driver.inspect(spec.id, never), { id: spec.id, state: "running", address: null, sshPort, error: null, detail: null });
    assert.equal(Number((await readFile(path.join(vmDir, "qemu.pid"), "utf8")).trim()), qemuPid);

    const again = await driver.start(spec, never);
    assert.deepEqual(again, { id: spec.id, state: "running", address: null, sshPort, error: null, detail: null });
    assert.deepEqual(await processesNaming(vmDir), [qemuPid]);
    // The console is the same run for the new agent: it reads on from where the first one was.
    const more = await driver.readConsole(spec.id, consoleAt, 1024 * 1024, never);
    assert.deepEqual([more?.stream, more?.offset], [consoleAt.stream, consoleAt.offset]);
  });

  it("calls a QEMU that is alive but silent on QMP unknown, and start() neither kills nor doubles it", async () => {
    const driver = drivers[1]!;
    // SIGSTOP: the process is there but answers nothing, as QEMU on an overloaded node may for a while.
    process.kill(qemuPid, "SIGSTOP");
    try {
      const silent = await driver.inspect(spec.id, never);
      assert.equal(silent?.state, "unknown");
      assert.equal(silent?.sshPort, sshPort);
      assert.match(silent?.detail ?? "", new RegExp(`QEMU \\(pid ${qemuPid}\\) does not answer QMP`));
      const started = await driver.start(spec, never);
      assert.equal(started.state, "unknown");
      // A shutting-down agent aborts its verbs: a silent QEMU does not hold it for QMP's timeouts.
      const abort = new AbortController();
      const asked = Date.now();
      setTimeout(() => abort.abort(), 50);
      await assert.rejects(driver.inspect(spec.id, abort.signal), { name: "AbortError" });
      assert.ok(Date.now() - asked < 900, `an aborted inspect gave up after ${Date.now() - asked} ms`);
      assert.deepEqual(await processesNaming(vmDir), [qemuPid], "the silent QEMU lives on, alone");
    } finally {
      process.kill(qemuPid, "SIGCONT");
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const seen = await driver.inspect(spec.id, never);
      if (seen?.state === "running") {
        assert.deepEqual(seen, { id: spec.id, state: "running", address: null, sshPort, error: null, detail: null });
        break;
      }
      assert.ok(Date.now() < deadline, `the VM does not run again after SIGCONT: ${JSON.stringify(seen)}`);
      await sleep(250);
    }
    assert.deepEqual(await processesNaming(vmDir), [qemuPid]);
  });

  it("destroys the VM: no QEMU, no files, the port free again", async () => {
    const driver = drivers[1]!;
    await driver.destroy(spec.id, never);
    assert.deepEqual(await processesNaming(vmDir), []);
    assert.equal(existsSync(vmDir), false);
    assert.equal(await isPortFree("127.0.0.1", sshPort), true);
    assert.equal(await driver.inspect(spec.id, never), undefined);
    assert.deepEqual(await driver.list(never), []);
    await driver.destroy(spec.id, never); // idempotent: nothing left to do
  });
});

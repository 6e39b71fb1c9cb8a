// Benchmark: time on the node from "desired" to "QEMU running" (QMP says running), for a 2 GiB image
// and a 64 MiB one, measured in one run beside (a) a full copy of the image, the seed's way, and
// (b) the bare primitives an operator would type: qemu-img create of the overlay, the same cidata
// seed with xorriso, and QEMU started until QMP answers. Medians of ROUNDS, interleaved.
// Run: make build && .node/bin/node dist/bench/deploy.js [ROUNDS]

import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { VmSpec } from "../src/core/protocol.js";
import { machineName } from "../src/core/names.js";
import { renderSeedFiles, writeSeedIso } from "../src/node/cloudinit/seed.js";
import { detectAccel } from "../src/node/drivers/qemu/accel.js";
import { QemuDriver } from "../src/node/drivers/qemu/driver.js";
import { QmpClient } from "../src/node/drivers/qemu/qmp.js";
import { pickFreePort } from "../src/node/drivers/qemu/ports.js";
import { builtImagesDir } from "../src/core/repo.js";

const run = promisify(execFile);
const ROUNDS = Number(process.argv[2] ?? 5);
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench";

function spec(disk: string): VmSpec {
  const id = randomUUID();
  return {
    id,
    machineName: machineName(id),
    hostname: "vm-bench",
    extra: "",
    mac: "52:54:00:00:00:99",
    owner: "bench",
    memoryMiB: 256,
    cpus: 1,
    sshKeys: [KEY],
    image: { tag: "bench", disk, kernel: "tiny.vmlinuz", initrd: "tiny.initrd", cmdline: "console=ttyS0 quiet vgrid_username=${username}" },
    desired: "running",
    requestId: null,
  };
}

/** QEMU started by hand for the same VM, until QMP says it runs; then quit. */
async function bareQemu(dir: string, disk: string, images: string, accel: string): Promise<void> {
  const port = await pickFreePort("127.0.0.1");
  const qmp = join(dir, "qmp.sock");
  const child = spawn(
    "qemu-system-x86_64",
    [
      "-machine", "q35", "-accel", accel === "kvm" ? "kvm" : "tcg,tb-size=64", "-m", "256", "-smp", "1",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-kernel", join(images, "tiny.vmlinuz"), "-initrd", join(images, "tiny.initrd"),
      "-append", "console=ttyS0 quiet vgrid_username=bench",
      "-drive", `file=${disk},if=virtio,format=qcow2`,
      "-drive", `file=${join(dir, "seed.iso")},if=virtio,format=raw,readonly=on`,
      "-netdev", `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, "-device", "virtio-net-pci,netdev=n0",
      "-serial", `file:${join(dir, "console.log")}`, "-qmp", `unix:${qmp},server=on,wait=off`,
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    for (;;) {
      const client = await QmpClient.connect(qmp, { timeoutMs: 1000 }).catch(() => undefined);
      if (client) {
        const status = await client.execute<{ running: boolean }>("query-status");
        if (status.running) {
          client.close();
          return;
        }
        client.close();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

async function seedFor(dir: string): Promise<void> {
  await writeSeedIso(join(dir, "seed"), renderSeedFiles(spec("x")), join(dir, "seed.iso"));
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "vgrid-bench-"));
  try {
    const images = join(work, "images");
    await mkdir(images);
    const built = builtImagesDir();
    await copyFile(join(built, "tiny.vmlinuz"), join(images, "tiny.vmlinuz"));
    await copyFile(join(built, "tiny.initrd"), join(images, "tiny.initrd"));
    const sizes = [
      { label: "64 MiB", file: "small.qcow2", mib: 64 },
      { label: "2 GiB", file: "big.qcow2", mib: 2048 },
    ];
    for (const s of sizes) {
      // Real data in every cluster, so that a copy has to move all of it.
      await run("qemu-img", ["create", "-q", "-f", "qcow2", join(images, s.file), `${s.mib}M`]);
      // qemu-io writes at most 2 GiB less a sector per command: fill in steps of 1 GiB.
      const writes = [];
      for (let at = 0; at < s.mib; at += 1024) writes.push("-c", `write -q -P 0xab ${at}M ${Math.min(1024, s.mib - at)}M`);
      await run("qemu-io", ["-f", "qcow2", ...writes, join(images, s.file)]);
    }
    const accel = await detectAccel({ log: () => {} });
    // The benchmark never aborts a verb: a signal that never fires, as the contract asks for one.
    const never = new AbortController().signal;
    const driver = new QemuDriver({ stateDir: join(work, "node"), imageDirectory: images, sshBind: "127.0.0.1", accel, log: () => {} });
    const results: Record<string, Record<string, number[]>> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sizes) {
        const r = (results[s.label] ??= { vgrid: [], copy: [], bare: [] });
        const vm = spec(s.file);
        r.vgrid!.push(await timeIt(async () => {
          await driver.create(vm, never);
          await driver.start(vm, never);
        }));
        await driver.destroy(vm.id, never);

        const copyDir = await mkdtemp(join(work, "copy-"));
        r.copy!.push(await timeIt(async () => {
          await copyFile(join(images, s.file), join(copyDir, "disk.qcow2"));
          await seedFor(copyDir);
          await bareQemu(copyDir, join(copyDir, "disk.qcow2"), images, accel);
        }));
        await rm(copyDir, { recursive: true, force: true });

        const bareDir = await mkdtemp(join(work, "bare-"));
        r.bare!.push(await timeIt(async () => {
          await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", join(images, s.file), join(bareDir, "overlay.qcow2")]);
          await seedFor(bareDir);
          await bareQemu(bareDir, join(bareDir, "overlay.qcow2"), images, accel);
        }));
        await rm(bareDir, { recursive: true, force: true });
      }
    }
    await driver.close();
    console.log(`accel: ${accel}, rounds: ${ROUNDS}, medians in ms`);
    console.log("| image | vgrid node (desired to QEMU running) | (a) full copy + seed + QEMU | (b) bare primitives | vgrid / (b) | (a) / vgrid |");
    console.log("|---|---|---|---|---|---|");
    for (const s of sizes) {
      const r = results[s.label]!;
      const [v, c, b] = [median(r.vgrid!), median(r.copy!), median(r.bare!)];
      console.log(`| ${s.label} | ${v.toFixed(0)} | ${c.toFixed(0)} | ${b.toFixed(0)} | ${(v / b).toFixed(2)} | ${(c / v).toFixed(1)} |`);
    }
    const flat = median(results["2 GiB"]!.vgrid!) / median(results["64 MiB"]!.vgrid!);
    console.log(`vgrid 2 GiB / 64 MiB: ${flat.toFixed(2)} (1.00 is perfectly flat in image size)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

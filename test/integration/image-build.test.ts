// `vgrid image build tiny`: the recipe leaves the four files of a direct-boot image, and the
// initramfs holds what the guest runs. (Booting it and ssh-ing in is tested end to end.)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";

import { listInitramfs } from "../../src/images/initramfs.js";
import { buildTinyImage } from "../../src/images/tiny.js";
import { repoRoot } from "../../src/core/repo.js";

const exec = promisify(execFile);

const repo = repoRoot();
let dir = "";
let disk = "";
const log: string[] = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "vgrid-image-build-"));
  disk = path.join(dir, "out", "tiny.qcow2");
  // The package cache is the checkout's, as for `make build`: only the first run downloads.
  await buildTinyImage({ out: disk, cacheDir: path.join(repo, ".cache", "debs"), log: (line) => log.push(line) });
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const besideDisk = (name: string) => path.join(dir, "out", name);

test("the build leaves the disk, kernel, initrd and sidecar, and no temporary file", async () => {
  const files = (await readdir(path.join(dir, "out"))).sort();
  assert.deepEqual(files, ["tiny.initrd", "tiny.json", "tiny.qcow2", "tiny.vmlinuz"], `build log:\n${log.join("\n")}`);
  for (const file of files) assert.ok((await stat(besideDisk(file))).size > 0, `${file} is empty`);
});

test("the disk is a qcow2 that stands alone", async () => {
  const { stdout } = await exec("qemu-img", ["info", "--output=json", disk]);
  const info = JSON.parse(stdout) as { format: string; "virtual-size": number; "backing-filename"?: string };
  assert.equal(info.format, "qcow2");
  assert.ok(info["virtual-size"] >= 16 * 1024 * 1024, `virtual size ${info["virtual-size"]}`);
  assert.equal(info["backing-filename"], undefined);
});

test("the kernel is one QEMU boots directly: an ELF vmlinux (PVH) or a bzImage", async () => {
  const head = Buffer.alloc(0x210);
  const file = await open(besideDisk("tiny.vmlinuz"), "r");
  await file.read(head, 0, head.length, 0).finally(() => file.close());
  const isElf = head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  const isBzImage = head.subarray(0x202, 0x206).toString("latin1") === "HdrS";
  assert.ok(isElf || isBzImage, "tiny.vmlinuz is neither an ELF kernel nor a bzImage");
});

test("the sidecar describes the image for the catalog", async () => {
  const sidecar: unknown = JSON.parse(await readFile(besideDisk("tiny.json"), "utf8"));
  assert.deepEqual(sidecar, {
    tag: "tiny",
    name: "Tiny (busybox + dropbear)",
    boot: "direct",
    disk: "tiny.qcow2",
    kernel: "tiny.vmlinuz",
    initrd: "tiny.initrd",
    cmdline: "console=ttyS0 quiet panic=-1 vgrid_username=${username}",
    minMemoryMiB: 128,
    defaultMemoryMiB: 256,
    maxMemoryMiB: 2048,
    maxCpus: 4,
  });
});

test("the initrd holds /init, busybox, dropbear with its libraries, and the modules in load order", async () => {
  const entries = new Set(await listInitramfs(besideDisk("tiny.initrd")));
  for (const entry of [
    "init",
    "bin/busybox",
    "bin/sh",
    "sbin/init",
    "usr/sbin/dropbear",
    "lib64/ld-linux-x86-64.so.2",
    "lib/x86_64-linux-gnu/libc.so.6",
    "usr/share/udhcpc/default.script",
    "etc/passwd",
    "etc/inittab",
    "lib/modules/load-order",
    "lib/modules/virtio_blk.ko",
    "lib/modules/isofs.ko",
    "lib/modules/virtio_net.ko",
  ]) {
    assert.ok(entries.has(entry), `the initrd has no ${entry}`);
  }
});

test("the guest's seed parser, run by the guest's busybox, reads hostname and keys as the node writes them", async () => {
  const root = path.join(dir, "initramfs");
  await mkdir(root);
  let archive = await readFile(besideDisk("tiny.initrd"));
  if (archive[0] === 0x1f && archive[1] === 0x8b) archive = gunzipSync(archive);
  await writeFile(path.join(dir, "initrd.cpio"), archive);
  await exec("cpio", ["-i", "-d", "--quiet", "--no-absolute-filenames", "-F", path.join(dir, "initrd.cpio")], { cwd: root });
  // The applets the parser uses, from the guest's busybox (static: it runs on the host too).
  const bin = path.join(dir, "applets");
  await mkdir(bin);
  for (const applet of ["sh", "awk", "dd", "tr"]) await symlink(path.join(root, "bin/busybox"), path.join(bin, applet));

  const key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq1 alice@laptop";
  const key2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq2 alice@desk";
  await writeFile(path.join(dir, "meta-data"), "instance-id: 7f3c\nlocal-hostname: vm-003\n");
  await writeFile(
    path.join(dir, "user-data"),
    `#cloud-config\nhostname: vm-003\ndisable_root: false\nssh_authorized_keys:\n  - "${key1}"\n  - ${key2}\n` +
      `users:\n  - name: alice\n    ssh_authorized_keys:\n      - ssh-ed25519 NOT-FOR-ROOT\n`,
  );
  const script = '. "$1"; yaml_value local-hostname "$2"; authorized_keys "$3"';
  const { stdout } = await exec(
    path.join(bin, "sh"),
    ["-c", script, "sh", path.join(root, "lib/vgrid/cloud-config.sh"), path.join(dir, "meta-data"), path.join(dir, "user-data")],
    { env: { PATH: bin } },
  );
  assert.deepEqual(stdout.split("\n"), ["vm-003", key1, key2, ""]);
});

// `vgrid image build tiny`: the recipe leaves the four files of a direct-boot image, the disk is
// the empty labelled filesystem that keeps each VM's ssh host keys, and the initramfs holds what
// the guest runs. (Booting it, ssh-ing in and the host key across a restart are tested end to end.)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";

import { listInitramfs } from "../../src/images/initramfs.js";
import { parseImageSidecar } from "../../src/core/image.js";
import { renderSeedFiles } from "../../src/node/cloudinit/seed.js";
import { sampleSpec } from "../support/fixtures.js";
import { DISK_LABEL, buildTinyImage, imagePaths, tinySidecar } from "../../src/images/tiny.js";
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
/** e2fsprogs and kmod live in /usr/sbin, which a Debian user's PATH lacks. */
const sbinEnv = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` };

let unpacked: Promise<string> | undefined;
/** The initrd unpacked once, in dir/initramfs. */
function unpackInitrd(): Promise<string> {
  unpacked ??= (async () => {
    const root = path.join(dir, "initramfs");
    await mkdir(root);
    let archive = await readFile(besideDisk("tiny.initrd"));
    if (archive[0] === 0x1f && archive[1] === 0x8b) archive = gunzipSync(archive);
    await writeFile(path.join(dir, "initrd.cpio"), archive);
    await exec("cpio", ["-i", "-d", "--quiet", "--no-absolute-filenames", "-F", path.join(dir, "initrd.cpio")], { cwd: root });
    return root;
  })();
  return unpacked;
}

let applets: Promise<string> | undefined;
/** A directory of the applets the guest's shell helpers use, from the guest's busybox (static: it runs on the host too). */
function guestApplets(): Promise<string> {
  applets ??= (async () => {
    const root = await unpackInitrd();
    const bin = path.join(dir, "applets");
    await mkdir(bin);
    for (const applet of ["sh", "awk", "dd", "tr", "od"]) await symlink(path.join(root, "bin/busybox"), path.join(bin, applet));
    return bin;
  })();
  return applets;
}

let rawDisk: Promise<string> | undefined;
/** The image's disk as a raw file, for e2fsprogs and the guest's own probe. */
function diskAsRaw(): Promise<string> {
  rawDisk ??= (async () => {
    const raw = path.join(dir, "disk.raw");
    await exec("qemu-img", ["convert", "-q", "-f", "qcow2", "-O", "raw", disk, raw]);
    return raw;
  })();
  return rawDisk;
}

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

test("the sidecar describes the image for the catalog, as the catalog reads it", async () => {
  const file = besideDisk("tiny.json");
  const text = await readFile(file, "utf8");
  assert.deepEqual(JSON.parse(text), tinySidecar(imagePaths(disk)));
  // What the sidecar leaves out, the catalog fills with its defaults: nothing else changes.
  assert.deepEqual(
    parseImageSidecar(file, text),
    { restartOnCrash: false, defaultHours: null, maxHours: null, ...tinySidecar(imagePaths(disk)) },
    "vgrid up's catalog accepts it as it is",
  );
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
    "lib/modules/ext4.ko",
    "lib/modules/jbd2.ko",
    "lib/modules/crc32c_generic.ko",
    "lib/vgrid/disk.sh",
    "lib/vgrid/disk-label",
    "var/lib/vgrid",
  ]) {
    assert.ok(entries.has(entry), `the initrd has no ${entry}`);
  }
  // No host key may be baked in: /init links /etc/dropbear to the VM's own disk at boot.
  assert.deepEqual([...entries].filter((entry) => entry.startsWith("etc/dropbear")), []);
});

test("the disk is an empty ext4 filesystem with the label /init looks for", async () => {
  const raw = await diskAsRaw();
  const { stdout: header } = await exec("dumpe2fs", ["-h", raw], { env: sbinEnv });
  assert.match(header, new RegExp(`^Filesystem volume name:\\s+${DISK_LABEL}$`, "m"));
  assert.match(header, /^Filesystem features:.*\bhas_journal\b.*\bextent\b/m, "not an ext4 with a journal");
  // Nothing but lost+found: every VM makes its own ssh host keys on its first boot.
  const { stdout: listing } = await exec("debugfs", ["-R", "ls -p /", raw], { env: sbinEnv });
  const names = listing.split("\n").filter((line) => line.startsWith("/")).map((line) => line.split("/")[5]);
  assert.deepEqual(names.sort(), [".", "..", "lost+found"]);
  const root = await unpackInitrd();
  assert.equal(await readFile(path.join(root, "lib/vgrid/disk-label"), "utf8"), `${DISK_LABEL}\n`);
});

test("the guest's disk probe, run by the guest's busybox, reads the disk's label and nothing from other volumes", async () => {
  const root = await unpackInitrd();
  const bin = await guestApplets();
  const raw = await diskAsRaw();
  const seed = path.join(dir, "not-ext.img");
  await writeFile(seed, Buffer.alloc(64 * 1024, 0x20)); // spaces: no ext magic, and a "label" that is not one
  const label = async (file: string) =>
    (await exec(path.join(bin, "sh"), ["-c", '. "$1"; ext_label "$2"', "sh", path.join(root, "lib/vgrid/disk.sh"), file], { env: { PATH: bin } })).stdout;
  assert.equal(await label(raw), DISK_LABEL);
  assert.equal(await label(seed), "");
});

test("the initrd's modules load in dependency order, the disk's filesystem (ext4 and the crc32c it asks for) included", async () => {
  const root = await unpackInitrd();
  const order = (await readFile(path.join(root, "lib/modules/load-order"), "utf8")).split("\n").filter((line) => line.length > 0);
  assert.equal(new Set(order).size, order.length, `a module is loaded twice: ${order.join(" ")}`);
  for (const [index, name] of order.entries()) {
    const { stdout } = await exec("modinfo", ["-F", "depends", path.join(root, "lib/modules", `${name}.ko`)], { env: sbinEnv });
    const depends = stdout.trim().split(",").filter((dep) => dep.length > 0).map((dep) => dep.replace(/-/g, "_"));
    for (const dep of depends) {
      assert.ok(order.indexOf(dep) >= 0 && order.indexOf(dep) < index, `${name} needs ${dep} loaded before it: ${order.join(" ")}`);
    }
  }
  for (const name of ["ext4", "jbd2", "mbcache", "crc16", "crc32c_generic"]) assert.ok(order.includes(name), `no ${name} in ${order.join(" ")}`);
  assert.ok(order.indexOf("crc32c_generic") < order.indexOf("ext4"), `crc32c_generic after ext4: ${order.join(" ")}`);
});

test("the guest's seed parser, run by the guest's busybox, reads hostname, keys and username from what the node writes", async () => {
  const root = await unpackInitrd();
  const bin = await guestApplets();

  const key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq1 alice@laptop";
  const key2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq2 alice "desk" \\ #2';
  const seed = renderSeedFiles(sampleSpec({ sshKeys: [key1, key2] }));
  await writeFile(path.join(dir, "meta-data"), seed.metaData);
  // A user's own cloud-config may list keys for other users: those are not root's.
  await writeFile(path.join(dir, "user-data"), `${seed.userData}users:\n  - name: alice\n    ssh_authorized_keys:\n      - ssh-ed25519 NOT-FOR-ROOT\n`);
  const script = '. "$1"; yaml_value local-hostname "$2"; authorized_keys "$3"; yaml_value vgrid_username "$3"';
  const { stdout } = await exec(
    path.join(bin, "sh"),
    ["-c", script, "sh", path.join(root, "lib/vgrid/cloud-config.sh"), path.join(dir, "meta-data"), path.join(dir, "user-data")],
    { env: { PATH: bin } },
  );
  assert.deepEqual(stdout.split("\n"), ["vm-003", key1, key2, "alice", ""]);
});

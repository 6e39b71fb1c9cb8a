// The `tiny` image recipe: the Debian kernel booted directly with a busybox + dropbear
// initramfs that reads the cloud-init seed, so root ssh answers within seconds even under TCG.
// Everything comes from Debian packages unpacked with dpkg-deb, never installed on the host.

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, copyFile, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, posix, relative, resolve } from "node:path";
import { Apt, extractDeb } from "./debian-packages.js";
import { packInitramfs } from "./initramfs.js";
import { findKernel, writeBootKernel } from "./kernel.js";
import { moduleName, orderModules, parseModinfoDepends } from "./module-order.js";
import type { ImageEntry } from "../core/image.js";
import { run } from "../core/run.js";
import { repoRoot } from "../core/repo.js";

export interface BuildOptions {
  out: string;
  cacheDir: string;
  log: (line: string) => void;
}

/** The four files of a direct-boot image: FILE and, beside it with FILE's stem, the rest. */
export interface ImagePaths {
  disk: string;
  kernel: string;
  initrd: string;
  sidecar: string;
}

/**
 * Modules /init loads, with their dependencies: the PCI transport, the rng early (when the node
 * gives one, it ends dropbear's wait for the kernel's random pool sooner), the seed disk and its
 * filesystem, the network, then the filesystem of the VM's own disk. ext4 asks the crypto API for
 * "crc32c" when it mounts (a softdep, which `modinfo -F depends` does not list, and there is no
 * modprobe in the guest to resolve it): crc32c_generic provides it on any CPU, where crc32c_intel
 * would need SSE 4.2, which TCG's default CPU lacks.
 */
const GUEST_MODULES = ["virtio_pci", "virtio_rng", "virtio_blk", "isofs", "virtio_net", "crc32c_generic", "ext4"];
/** User space of the guest; their library packages are found with apt-cache. */
const GUEST_PACKAGES = ["busybox-static", "dropbear-bin"];
/** Dynamically linked programs copied into the guest with the libraries they load. */
const GUEST_PROGRAMS = ["usr/sbin/dropbear", "usr/bin/dropbearkey"];
/**
 * The image's disk: an empty ext4 filesystem. The guest runs from RAM; each VM's overlay of this
 * disk (its /dev/vda) keeps what must outlive a reboot of that VM, its ssh host keys: /init mounts
 * it at /var/lib/vgrid, finding it by this label. It is made empty here, so that every VM makes its
 * own keys on its first boot. ext4 for its journal: the node stops VMs by pulling the plug.
 */
export const DISK_LABEL = "vgrid-tiny";
const DISK_SIZE = "64M";

/** Files of src/images/tiny/ and where they go in the guest. */
const GUEST_FILES: { from: string; to: string; mode: number }[] = [
  { from: "init", to: "init", mode: 0o755 },
  { from: "cloud-config.sh", to: "lib/vgrid/cloud-config.sh", mode: 0o644 },
  { from: "disk.sh", to: "lib/vgrid/disk.sh", mode: 0o644 },
  { from: "inittab", to: "etc/inittab", mode: 0o644 },
  { from: "udhcpc.script", to: "usr/share/udhcpc/default.script", mode: 0o755 },
  { from: "passwd", to: "etc/passwd", mode: 0o644 },
  { from: "group", to: "etc/group", mode: 0o644 },
  { from: "shadow", to: "etc/shadow", mode: 0o600 },
  { from: "shells", to: "etc/shells", mode: 0o644 },
];

/** Empty directories the guest expects, with their modes. */
const GUEST_DIRS: [string, number][] = [
  ["proc", 0o755], ["sys", 0o755], ["dev", 0o755], ["run", 0o755], ["tmp", 0o1777], ["mnt", 0o755],
  ["root", 0o700], ["var/log", 0o755], ["var/lib/vgrid", 0o755],
];
// No etc/dropbear: /init makes it a link to the VM's disk (or, failing that, a directory in RAM).

/** FILE's companions share its stem: images/build/tiny.qcow2 -> images/build/tiny.vmlinuz, ... */
export function imagePaths(out: string): ImagePaths {
  const stem = out.slice(0, out.length - extname(out).length);
  return { disk: out, kernel: `${stem}.vmlinuz`, initrd: `${stem}.initrd`, sidecar: `${stem}.json` };
}

/** The sidecar for an image whose files are at `paths` (file names only: the catalog keeps them together). */
export function tinySidecar(paths: ImagePaths): ImageEntry {
  return {
    tag: "tiny",
    name: "Tiny (busybox + dropbear)",
    description: "A minimal Linux to try vgrid with: a shell and an ssh server, ready in seconds. No package manager; what you write on its disk lasts as long as the VM.",
    boot: "direct",
    disk: basename(paths.disk),
    kernel: basename(paths.kernel),
    initrd: basename(paths.initrd),
    // ${username} is rendered by the node; panic=-1 reboots at once should /init ever die. No
    // `quiet`: the kernel's boot lines are what a VM's boot log (GET /vms/{id}/log) is read for, and
    // printing them (23 KB) did not slow the boot to ssh under TCG (9.6-12.3 s against 10.3-12.1 s).
    cmdline: "console=ttyS0 panic=-1 vgrid_username=${username}",
    minMemoryMiB: 128,
    defaultMemoryMiB: 256,
    maxMemoryMiB: 2048,
    maxCpus: 4,
  };
}

/** Builds the tiny image at opts.out; on failure nothing is left at the final names. */
export async function buildTinyImage(opts: BuildOptions): Promise<void> {
  const started = Date.now();
  const paths = imagePaths(resolve(opts.out));
  await mkdir(dirname(paths.disk), { recursive: true });
  const temp = temporaryPaths(paths);
  const work = await mkdtemp(join(tmpdir(), "vgrid-tiny-"));
  try {
    const apt = new Apt(resolve(opts.cacheDir), opts.log);
    const kernelPackage = await apt.resolveMetapackage("linux-image-amd64", /^linux-image-\d/);
    const userPackages = await apt.dependencyClosure(GUEST_PACKAGES);
    const debs = await apt.fetch([kernelPackage, ...userPackages]);

    const kernelRoot = join(work, "kernel");
    const packageRoot = join(work, "packages");
    const guest = join(work, "initramfs");
    opts.log(`unpacking ${kernelPackage} and ${userPackages.join(" ")}`);
    for (const [name, deb] of debs) await extractDeb(deb, name === kernelPackage ? kernelRoot : packageRoot);

    await mkdir(guest, { mode: 0o755 });
    await chmod(guest, 0o755); // the archive's "." is the guest's /
    await stageBusybox(packageRoot, guest);
    for (const program of GUEST_PROGRAMS) await stageProgram(packageRoot, program, guest);
    const kernel = await findKernel(kernelRoot);
    const modules = await stageModules(kernel.modulesDir, guest);
    opts.log(`kernel ${kernel.version}; modules in load order: ${modules.join(" ")}`);
    await stageGuestFiles(guest);
    await writeFile(join(guest, "lib/vgrid/disk-label"), `${DISK_LABEL}\n`, { mode: 0o644 });

    await packInitramfs(guest, temp.initrd);
    const kernelKind = await writeBootKernel(kernel, temp.kernel, opts.log);
    await makeDisk(work, temp.disk);
    await writeFile(temp.sidecar, `${JSON.stringify(tinySidecar(paths))}\n`, { mode: 0o644 });

    // Renamed whole, the sidecar last: whoever sees it finds the other three complete.
    for (const key of IMAGE_FILES) await rename(temp[key], paths[key]);
    opts.log(`built ${paths.disk} (+ .vmlinuz (${kernelKind}) .initrd .json) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    await Promise.all(IMAGE_FILES.map((key) => rm(temp[key], { force: true })));
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The empty ext4 filesystem labelled DISK_LABEL, as a qcow2 at `target`: mke2fs writes a raw file
 * (no loop device, no mount, no root needed) that qemu-img converts, keeping only written blocks.
 */
async function makeDisk(work: string, target: string): Promise<void> {
  const raw = join(work, "disk.raw");
  const empty = join(work, "disk-root");
  await mkdir(empty, { mode: 0o755 });
  await chmod(empty, 0o755); // -d gives the filesystem's root the mode of this directory
  const mke2fs = await sbinProgram("mke2fs");
  // root_owner: the root directory belongs to root in the guest, whoever builds.
  await run(mke2fs, ["-q", "-F", "-t", "ext4", "-L", DISK_LABEL, "-m", "0", "-E", "root_owner=0:0", "-d", empty, raw, DISK_SIZE]);
  await run("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, target]);
  await chmod(target, 0o644);
}

/** e2fsprogs lives in /usr/sbin (or /sbin), which is not on a Debian user's PATH: look there too. */
async function sbinProgram(name: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? "").split(":").filter((dir) => dir.length > 0), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  throw new Error(`${name} not found on PATH nor in /usr/sbin or /sbin: install e2fsprogs`);
}

/** The image's files in the order they are put in place: the sidecar last. */
const IMAGE_FILES = ["kernel", "initrd", "disk", "sidecar"] as const;

function temporaryPaths(paths: ImagePaths): ImagePaths {
  const suffix = `${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const temp = (path: string) => join(dirname(path), `.${basename(path)}.${suffix}`);
  return { disk: temp(paths.disk), kernel: temp(paths.kernel), initrd: temp(paths.initrd), sidecar: temp(paths.sidecar) };
}

/** busybox at /bin/busybox and a symlink for each applet where busybox itself says it belongs. */
async function stageBusybox(packageRoot: string, guest: string): Promise<void> {
  const busybox = join(guest, "bin/busybox");
  await mkdir(dirname(busybox), { recursive: true });
  await copyFile(join(packageRoot, "bin/busybox"), busybox);
  await chmod(busybox, 0o755);
  const { stdout } = await run(busybox, ["--list-full"]); // a static binary: it runs anywhere
  for (const applet of stdout.split("\n").filter((line) => line.length > 0)) {
    const link = join(guest, applet);
    if (await isPresent(link)) continue;
    await mkdir(dirname(link), { recursive: true });
    await symlink("/bin/busybox", link);
  }
}

/**
 * A dynamically linked program with its ELF interpreter and every library it loads, all taken
 * from the unpacked packages: the packages' own ld.so resolves them (`--list`), searching only
 * the packages' library directories, so nothing can come from the host unnoticed.
 */
async function stageProgram(packageRoot: string, program: string, guest: string): Promise<void> {
  const libraryDirs = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"].map((dir) => join(packageRoot, dir));
  const loader = join(packageRoot, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  const { stdout } = await run(loader, ["--library-path", libraryDirs.join(":"), "--list", join(packageRoot, program)]);
  for (const dep of parseLdList(stdout)) {
    if (dep.path === undefined) throw new Error(`${program} needs ${dep.name}, which no unpacked package provides`);
    if (dep.name.startsWith("/")) {
      await copyInside(packageRoot, dep.name.slice(1), guest); // the interpreter, by its guest path
      continue;
    }
    const inside = relative(packageRoot, dep.path);
    if (inside.startsWith("..")) throw new Error(`${program} would load ${dep.name} from the host (${dep.path}), not from a package`);
    await copyInside(packageRoot, inside, guest);
  }
  await copyInside(packageRoot, program, guest);
}

/** One line of `ld.so --list`: a library and where it resolved (undefined: not found). */
export interface LdDependency {
  name: string;
  path: string | undefined;
}

/** The libraries of `ld.so --list` output; the vDSO (in the kernel, no file) is left out. */
export function parseLdList(output: string): LdDependency[] {
  const deps: LdDependency[] = [];
  for (const line of output.split("\n")) {
    const resolved = /^\s*(\S+) => (\S+) \(0x[0-9a-f]+\)\s*$/.exec(line);
    const missing = /^\s*(\S+) => not found\s*$/.exec(line);
    if (resolved?.[1] && resolved[2]) deps.push({ name: resolved[1], path: resolved[2] });
    else if (missing?.[1]) deps.push({ name: missing[1], path: undefined });
  }
  return deps;
}

/**
 * Copies root/path to guest/path; a symlink is copied as a symlink and its target too,
 * resolved inside root (Debian's absolute links, like /lib64/ld-linux-x86-64.so.2, point into
 * the package tree, not the host's).
 */
async function copyInside(root: string, path: string, guest: string, depth = 0): Promise<void> {
  if (depth > 20) throw new Error(`too many symlinks at ${path} in the unpacked packages`);
  const source = join(root, path);
  const target = join(guest, path);
  if (await isPresent(target)) return;
  await mkdir(dirname(target), { recursive: true });
  const info = await lstat(source);
  if (!info.isSymbolicLink()) {
    await copyFile(source, target);
    await chmod(target, info.mode & 0o7777);
    return;
  }
  const link = await readlink(source);
  await symlink(link, target);
  const next = link.startsWith("/") ? link.slice(1) : posix.normalize(posix.join(posix.dirname(path), link));
  if (next.startsWith("..")) throw new Error(`symlink ${path} -> ${link} leaves the unpacked packages`);
  await copyInside(root, next, guest, depth + 1);
}

/** A path that exists, as itself: a symlink counts even when its target is not on this host. */
async function isPresent(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Copies GUEST_MODULES and what they depend on (by `modinfo -F depends`) to /lib/modules/NAME.ko,
 * uncompressed (busybox insmod takes plain .ko), and writes /lib/modules/load-order for /init.
 * Modules built into the kernel (modules.builtin) have nothing to load and are left out.
 */
async function stageModules(modulesDir: string, guest: string): Promise<string[]> {
  const files = await indexModules(join(modulesDir, "kernel"));
  const builtin = await builtinModules(modulesDir);
  const modinfo = await sbinProgram("modinfo"); // /sbin is not on every root PATH
  const depends = new Map<string, string[]>();
  const pending = GUEST_MODULES.map(moduleName);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const file = files.get(name);
    if (depends.has(name)) continue;
    if (builtin.has(name)) {
      depends.set(name, []);
      continue;
    }
    if (file === undefined) continue; // orderModules names the missing one
    const deps = parseModinfoDepends((await run(modinfo, ["-F", "depends", file])).stdout);
    depends.set(name, deps);
    pending.push(...deps);
  }
  const order = orderModules(GUEST_MODULES, depends).filter((name) => !builtin.has(name));
  const dir = join(guest, "lib/modules");
  await mkdir(dir, { recursive: true });
  for (const name of order) await copyModule(files.get(name) as string, join(dir, `${name}.ko`));
  await writeFile(join(dir, "load-order"), order.map((name) => `${name}\n`).join(""));
  return order;
}

async function builtinModules(modulesDir: string): Promise<Set<string>> {
  const list = await readFile(join(modulesDir, "modules.builtin"), "utf8").catch(() => "");
  return new Set(list.split("\n").filter((line) => line.length > 0).map(moduleName));
}

/** Every module file of the kernel tree by module name (drivers/char/hw_random/virtio-rng.ko -> virtio_rng). */
async function indexModules(tree: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(tree, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.ko(\.xz|\.zst)?$/.test(entry.name)) files.set(moduleName(entry.name), join(entry.parentPath, entry.name));
  }
  return files;
}

async function copyModule(source: string, target: string): Promise<void> {
  if (source.endsWith(".ko")) {
    await copyFile(source, target);
    return;
  }
  // Newer Debian kernels ship compressed modules: decompress a copy in place (xz/zstd drop the suffix).
  const compressed = `${target}${extname(source)}`;
  await copyFile(source, compressed);
  if (source.endsWith(".xz")) await run("xz", ["-d", "-q", "--", compressed]);
  else await run("zstd", ["-d", "-q", "--rm", "--", compressed]);
}

/** The guest's scripts and /etc files from src/images/tiny/, and its empty directories. */
async function stageGuestFiles(guest: string): Promise<void> {
  const sources = join(repoRoot(), "src/images/tiny");
  for (const file of GUEST_FILES) {
    const target = join(guest, file.to);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readFile(join(sources, file.from)));
    await chmod(target, file.mode);
  }
  for (const [dir, mode] of GUEST_DIRS) {
    await mkdir(join(guest, dir), { recursive: true });
    await chmod(join(guest, dir), mode);
  }
  await symlink("../run", join(guest, "var/run"));
  await symlink("/proc/mounts", join(guest, "etc/mtab")); // df and mount read it
}


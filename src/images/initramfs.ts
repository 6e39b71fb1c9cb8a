// Packs a directory into a gzip-compressed newc cpio archive (what the kernel unpacks as its
// initramfs) with GNU cpio, and lists one back.

import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip, gunzipSync } from "node:zlib";
import { run } from "../core/run.js";

/** Every path under root, relative to it, parents before children, sorted (so archives are reproducible). */
export async function listTree(root: string): Promise<string[]> {
  const paths: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(root, relative), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative === "." ? entry.name : `${relative}/${entry.name}`;
      paths.push(path);
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(".");
  return paths;
}

/** Writes dir's whole tree, owned by root, as a gzipped newc archive to outFile. */
export async function packInitramfs(dir: string, outFile: string): Promise<void> {
  const list = (await listTree(dir)).map((path) => `${path}\0`).join("");
  // -0: names end with NUL, so no name can break the list; -R 0:0: the guest's files belong to root
  // whoever builds; --reproducible: no host inode or device numbers in the archive.
  const cpio = spawn("cpio", ["--quiet", "-o", "-H", "newc", "-0", "-R", "0:0", "--reproducible"], {
    cwd: dir,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 120_000,
    killSignal: "SIGKILL",
  });
  const stderr: Buffer[] = [];
  cpio.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<void>((resolve, reject) => {
    cpio.on("error", (err) => reject(new Error(`cpio: ${err.message}`)));
    cpio.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`cpio -o exited with ${signal ?? `status ${code}`}: ${Buffer.concat(stderr).toString().trim()}`));
    });
  });
  cpio.stdin.end(list);
  await Promise.all([pipeline(cpio.stdout, createGzip({ level: 9 }), createWriteStream(outFile, { mode: 0o644 })), exited]);
}

/** The paths inside an initramfs archive (gzipped or not), as `cpio -t` prints them. */
export async function listInitramfs(file: string): Promise<string[]> {
  let archive = await readFile(file);
  if (archive[0] === 0x1f && archive[1] === 0x8b) archive = gunzipSync(archive);
  const { stdout } = await run("cpio", ["-t", "--quiet"], { input: archive });
  return stdout.split("\n").filter((line) => line.length > 0);
}

// Debian packages for image recipes: resolved with apt-cache, fetched with `apt-get download`
// into a cache directory (reused across builds), unpacked with `dpkg-deb -x`. Nothing is ever
// installed on the host, so no maintainer script or initramfs hook runs here.

import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../core/run.js";

/** Where packages come from and where they are kept; `apt-get update` runs at most once per Apt. */
export class Apt {
  private listsRefreshed = false;

  constructor(
    readonly cacheDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The package that `apt-cache depends` names as the first dependency of a metapackage
   * matching `pattern` (linux-image-amd64 -> linux-image-6.1.0-NN-amd64).
   */
  async resolveMetapackage(metapackage: string, pattern: RegExp): Promise<string> {
    return this.withFreshListsOnFailure(async () => {
      const { stdout } = await run("apt-cache", ["depends", metapackage]);
      const target = parseAptDepends(stdout).find((name) => pattern.test(name));
      if (!target) throw new Error(`apt-cache depends ${metapackage} names no package matching ${pattern}`);
      return target;
    });
  }

  /** The packages and everything they depend on (Depends and Pre-Depends, recursively). */
  async dependencyClosure(names: readonly string[]): Promise<string[]> {
    return this.withFreshListsOnFailure(async () => {
      const { stdout } = await run("apt-cache", [
        "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
        "--no-breaks", "--no-replaces", "--no-enhances", ...names,
      ]);
      const closure = parseAptRecurse(stdout);
      const missing = names.filter((name) => !closure.includes(name));
      if (missing.length > 0) throw new Error(`apt-cache knows no package ${missing.join(", ")}`);
      return closure;
    });
  }

  /** The .deb file of each package: from the cache when it is there, else downloaded into it. */
  async fetch(names: readonly string[]): Promise<Map<string, string>> {
    await mkdir(this.cacheDir, { recursive: true });
    const missing: string[] = [];
    for (const name of names) if ((await this.cached(name)) === undefined) missing.push(name);
    if (missing.length > 0) {
      this.log(`downloading ${missing.length} Debian package(s): ${missing.join(" ")}`);
      await this.withFreshListsOnFailure(() => this.download(missing));
    }
    const debs = new Map<string, string>();
    for (const name of names) {
      const deb = await this.cached(name);
      if (deb === undefined) throw new Error(`apt-get download ${name} left no ${name}_*.deb in ${this.cacheDir}`);
      debs.set(name, deb);
    }
    return debs;
  }

  /** The newest cached .deb of a package (its file name is NAME_VERSION_ARCH.deb). */
  private async cached(name: string): Promise<string | undefined> {
    const files = (await readdir(this.cacheDir)).filter((file) => file.startsWith(`${name}_`) && file.endsWith(".deb"));
    let newest: { path: string; mtimeMs: number } | undefined;
    for (const file of files) {
      const path = join(this.cacheDir, file);
      const { mtimeMs } = await stat(path);
      if (!newest || mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
    }
    return newest?.path;
  }

  // Downloads land in a private directory and are renamed into the cache whole, so that a
  // build running beside this one never reads a half-written .deb.
  private async download(names: readonly string[]): Promise<void> {
    const scratch = await mkdtemp(join(this.cacheDir, ".download-"));
    try {
      await run("apt-get", ["download", "-q", "-o", "Acquire::Retries=5", ...names], { cwd: scratch, timeoutMs: 15 * 60_000 });
      for (const file of await readdir(scratch)) {
        if (file.endsWith(".deb")) await rename(join(scratch, file), join(this.cacheDir, file));
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  // Package lists may be missing (a fresh container) or stale (a superseded version is gone
  // from the mirror): refresh them once, then try again.
  private async withFreshListsOnFailure<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (this.listsRefreshed) throw err;
      this.listsRefreshed = true;
      this.log(`${(err as Error).message.split("\n")[0]}; running apt-get update and trying again`);
      await run("apt-get", ["update", "-q", "-o", "Acquire::Retries=5"], { timeoutMs: 10 * 60_000 });
      return action();
    }
  }
}

/** Unpacks a .deb's files into dir (created if needed), without installing it. */
export async function extractDeb(deb: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run("dpkg-deb", ["-x", deb, dir], { timeoutMs: 5 * 60_000 });
}

/** The Depends and Pre-Depends of `apt-cache depends PKG` output, alternatives included, in order. */
export function parseAptDepends(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split("\n")) {
    const match = /^\s*\|?(?:Pre)?Depends:\s*(\S+)/.exec(line);
    if (match?.[1] && !match[1].startsWith("<")) names.push(match[1]);
  }
  return names;
}

/** The real packages of `apt-cache depends --recurse` output: its unindented lines, virtual ones left out. */
export function parseAptRecurse(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split("\n")) {
    const name = line.trimEnd();
    if (name && !/^\s/.test(name) && !name.startsWith("<") && !names.includes(name)) names.push(name);
  }
  return names;
}

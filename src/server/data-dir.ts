// The files of a `vgrid up` data directory, each named once, and the lock that keeps it to one process.

import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { lockPidFile } from "./pid-lock.js";

export function dataPaths(dir: string) {
  return {
    /** The embedded SQLite store. */
    database: join(dir, "vgrid.db"),
    /** The local node's VM directories. */
    nodeState: join(dir, "node"),
    /** Where vgrid 0.1 kept the admin's token in clear: removed at start (the token is printed once). */
    oldAdminToken: join(dir, "admin.token"),
    /** The URL the last `vgrid up` on the directory served, for the links of `vgrid login-link`. */
    url: join(dir, "url"),
    /** Holds the PID of the `vgrid up` that uses the directory. */
    lock: join(dir, "vgrid.lock"),
  };
}

/**
 * Makes the data directory (and its node's) readable by this user alone: it holds the store and the VMs'
 * disks. One an older vgrid made 0755 is closed up too.
 */
export async function makeDataDir(dir: string): Promise<void> {
  const paths = dataPaths(dir);
  await mkdir(paths.nodeState, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Takes the data directory for this process: two `vgrid up` on one directory would fight over its
 * VMs. A lock left by a process that is gone (killed) is taken over. Returns the release function.
 */
export function lockDataDir(lockFile: string): Promise<() => Promise<void>> {
  const dir = lockFile.replace(/\/vgrid\.lock$/, "");
  return lockPidFile(lockFile, (pid) => `another vgrid (pid ${pid}) uses the data directory ${dir}; stop it first or pass another --data`);
}

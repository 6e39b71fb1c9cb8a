// The files of a `vgrid up` data directory, each named once, and the lock that keeps it to one process.

import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

export function dataPaths(dir: string) {
  return {
    /** The embedded SQLite store. */
    database: join(dir, "vgrid.db"),
    /** The local node's VM directories. */
    nodeState: join(dir, "node"),
    /** Where vgrid 0.1 kept the admin's token in clear: removed at start (the token is printed once). */
    oldAdminToken: join(dir, "admin.token"),
    /** Holds the PID of the `vgrid up` that uses the directory. */
    lock: join(dir, "vgrid.lock"),
  };
}

/**
 * Takes the data directory for this process: two `vgrid up` on one directory would fight over its
 * VMs. A lock left by a process that is gone (killed) is taken over. Returns the release function.
 */
export async function lockDataDir(lockFile: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number((await readFile(lockFile, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && (await isVgrid(holder))) {
      throw new DataDirBusy(`another vgrid (pid ${holder}) uses the data directory ${lockFile.replace(/\/vgrid\.lock$/, "")}; stop it first or pass another --data`);
    }
    await rm(lockFile, { force: true });
  }
  throw new DataDirBusy(`cannot take the lock ${lockFile}`);
}

export class DataDirBusy extends Error {}

async function isVgrid(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("vgrid");
}

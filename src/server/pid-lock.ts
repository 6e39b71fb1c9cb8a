// A lock held by one process: a file with its PID, made with O_EXCL. A lock left by a process that is
// gone (killed) is taken over; one whose process is a live vgrid is refused with `busy`'s words.

import { open, readFile, rm } from "node:fs/promises";

/** The lock is held by a live vgrid: the message says by whom and what to do instead. */
export class LockBusy extends Error {}

export async function lockPidFile(file: string, busy: (pid: number) => string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && (await isVgrid(holder))) {
      throw new LockBusy(busy(holder));
    }
    await rm(file, { force: true });
  }
  throw new LockBusy(`cannot take the lock ${file}`);
}

async function isVgrid(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("vgrid");
}

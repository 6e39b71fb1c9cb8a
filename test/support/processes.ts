// What the tests look for on this machine: QEMU processes of a directory, zombies, free ports.

import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PIDs of live processes whose command line mentions `needle` (a VM dir, a data dir). */
export async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).replace(/\0/g, " ");
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      if (cmdline.includes(needle) && !/\) Z /.test(stat) && Number(entry) !== process.pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Zombie processes (exited, never reaped) whose parent is `ppid` or whose command mentions `needle`. */
export async function zombies(filter: { ppid?: number; name?: string }): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (!m || m[2] !== "Z") continue;
      if ((filter.ppid !== undefined && Number(m[3]) === filter.ppid) || (filter.name !== undefined && m[1]!.includes(filter.name))) {
        found.push(`${entry} (${m[1]}) parent ${m[3]}`);
      }
    } catch {
      // gone
    }
  }
  return found;
}

export async function sshKeygen(dir: string, name = "id_ed25519"): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = `${dir}/${name}`;
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}@test`, "-f", privateKey]);
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, "utf8")).trim() };
}

/** Runs a command in the VM with the real OpenSSH client as root, with the given key. */
export async function sshRun(privateKey: string, host: string, port: number, command: string): Promise<string> {
  const { stdout } = await run(
    "ssh",
    [
      "-i", privateKey,
      "-p", String(port),
      "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=20",
      "-o", "LogLevel=ERROR",
      `root@${host}`,
      command,
    ],
    { timeout: 60_000 },
  );
  return stdout;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown inside an `eventually` check when waiting longer cannot help (a VM that failed). */
export class Hopeless extends Error {}

/**
 * Polls `check` until it returns a value other than undefined, or fails after `ms` with `what`.
 * A thrown error counts as "not yet", except a Hopeless one, which ends the wait at once.
 */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof Hopeless) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await sleep(everyMs);
  }
}

/** The VM's ed25519 ssh host key (type and base64), as a client sees it; polls until the guest answers. */
export async function sshHostKey(host: string, port: number): Promise<string> {
  return eventually(`an ssh host key at ${host}:${port}`, 60_000, async () => {
    const { stdout } = await run("ssh-keyscan", ["-T", "5", "-p", String(port), "-t", "ed25519", host], { timeout: 30_000 });
    const fields = stdout.split("\n").find((line) => line && !line.startsWith("#"))?.split(" ");
    return fields && fields.length >= 3 ? `${fields[1]} ${fields[2]}` : undefined;
  });
}

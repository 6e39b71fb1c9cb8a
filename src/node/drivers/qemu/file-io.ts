// Small file helpers for a VM's directory. Files appear whole or not at all: made under a temporary
// name, then renamed (atomic on POSIX), so a crash never leaves half a spec, overlay or seed behind.

import { access, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { CONSOLE_STREAM_PATTERN } from "../../../core/protocol.js";

const TAIL_BYTES = 2_000;

const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]{8}$/;

/** A temporary name beside `file`, unique to this call. */
export function tempNameFor(file: string): string {
  // node:crypto is taken when called, not imported: an idle node agent never loads it (3 MB).
  return `${file}.tmp-${process.pid}-${process.getBuiltinModule("node:crypto").randomBytes(4).toString("hex")}`;
}

/** Deletes the temporary files an agent that crashed mid-write left in `dir`. */
export async function removeTempFiles(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.filter((n) => TEMP_SUFFIX.test(n)).map((n) => rm(path.join(dir, n), { force: true })));
}

/** Runs `make(tmp)` to produce the file under a temporary name, then renames it to `file`. */
export async function makeFileAtomically(file: string, make: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempNameFor(file);
  try {
    await make(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes `data` to `file` atomically (mode 0600). */
export function writeFileAtomically(file: string, data: string): Promise<void> {
  return makeFileAtomically(file, (tmp) => writeFile(tmp, data, { mode: 0o600 }));
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The port number stored in `file`, or null if there is none. */
export async function readPort(file: string): Promise<number | null> {
  const text = await readFile(file, "utf8").catch(() => "");
  const port = Number(text.trim());
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : null;
}

/**
 * The bytes of `file` that `choose` picks once it knows the file's size, with that size; null when
 * there is no such file. Reads only those: a console of many megabytes costs a chunk, not the file.
 */
export async function readRange(
  file: string,
  choose: (size: number) => { offset: number; length: number },
): Promise<{ offset: number; bytes: Buffer; size: number } | null> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const { offset, length } = choose(size);
    if (length <= 0) return { offset, bytes: Buffer.alloc(0), size };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return { offset, bytes: buffer.subarray(0, bytesRead), size };
  } finally {
    await handle.close();
  }
}

/**
 * The name of a VM's current console run, from `file`; a console written before runs were named (or
 * a file that is not such a name) reads as the one run UNNAMED_STREAM, never as bad input to the server.
 */
export async function readConsoleStream(file: string): Promise<string> {
  const text = (await readFile(file, "utf8").catch(() => "")).trim();
  return CONSOLE_STREAM.test(text) ? text : UNNAMED_STREAM;
}

/** The run of a console that has no name of its own. */
const UNNAMED_STREAM = "unnamed";
const CONSOLE_STREAM = new RegExp(CONSOLE_STREAM_PATTERN);

/** The last lines QEMU wrote to its stderr log, for error messages. */
export async function readTail(file: string): Promise<string> {
  try {
    const handle = await open(file, "r");
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, TAIL_BYTES);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString("utf8").trim();
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}

// Runs a program (qemu-img, xorriso, the Debian tools of an image recipe): argument arrays only
// (never a shell), a timeout on every call, and an error that names the command and what it said.

import { spawn } from "node:child_process";
import { open } from "node:fs/promises";

export interface RunOptions {
  cwd?: string;
  /** Written to the program's stdin, which is then closed. */
  input?: string | Buffer;
  /** Killed after this long; image tools are slow under load but never this slow. */
  timeoutMs?: number;
  /** Where stdout goes instead of the result (for large binary output); created or truncated. */
  stdoutFile?: string;
  /** Kills the program (SIGKILL) when it aborts: a node shutting down does not wait on a slow tool. */
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A program that failed: its exit, and the tail of stderr to act on. */
export class RunError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    reason: string,
  ) {
    super(`${command}: ${reason}${stderr.trim() ? `: ${tail(stderr)}` : ""}`);
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Runs `program args...` to its end; resolves with its output, rejects unless it exits 0. */
export async function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (options.stdoutFile === undefined) return runWith(program, args, options, "pipe");
  const file = await open(options.stdoutFile, "w", 0o644);
  try {
    return await runWith(program, args, options, file.fd);
  } finally {
    await file.close();
  }
}

function runWith(program: string, args: readonly string[], options: RunOptions, stdout: "pipe" | number): Promise<RunResult> {
  const command = [program, ...args].join(" ");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      stdio: ["pipe", stdout, "pipe"],
      killSignal: "SIGKILL",
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // Our own timer rather than spawn's `timeout`: that one outlives a program that never started
    // (ENOENT), holding the process up for the whole timeout.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const output: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.stdin?.on("error", () => {}); // a program that exits without reading its input: its exit code tells
    child.stdin?.end(options.input ?? "");
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.name === "AbortError") return reject(err);
      const reason = err.code === "ENOENT" ? `${program} is not installed (not on PATH)` : err.message;
      reject(new RunError(command, null, "", reason));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(output).toString("utf8");
      const err = Buffer.concat(stderr).toString("utf8");
      if (code === 0) resolve({ stdout: out, stderr: err });
      else if (timedOut) reject(new RunError(command, code, err, `killed after ${timeoutMs} ms without finishing`));
      else if (signal) reject(new RunError(command, code, err, `killed by ${signal}`));
      else reject(new RunError(command, code, err, `exited with status ${code}`));
    });
  });
}

function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join(" | ");
}

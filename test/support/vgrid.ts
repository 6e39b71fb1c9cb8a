// Starts real vgrid processes (bin/vgrid up, server, node) for tests, and talks to their API.
// Everything started here is stopped by `stop()`/`kill()`, and tests call them in `after` hooks.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { builtImagesDir, repoRoot } from "../../src/core/repo.js";
import type { Vm } from "../../src/core/api.js";
import { Hopeless, eventually, processesMentioning } from "./processes.js";

const run = promisify(execFile);

export const VGRID = join(repoRoot(), "bin", "vgrid");
export const IMAGES = builtImagesDir();

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `vgrid-${prefix}-`));
}

/** A vgrid process (up, server or node) whose output is kept for failure messages. */
export class VgridProcess {
  output = "";
  readonly exited: Promise<unknown>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = once(child, "exit");
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal and waits for the process to end (and be reaped by us); SIGKILL after a minute. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 60_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export function startVgrid(args: string[], env: Record<string, string> = {}): VgridProcess {
  const child = spawn(VGRID, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  return new VgridProcess(child);
}

export interface Up {
  proc: VgridProcess;
  url: string;
  dataDir: string;
  adminToken: string;
}

/** `vgrid up` on a fresh (or given) data dir and a free port; resolves once it says it is up. */
export async function startUp(opts: { maxVms: number; dataDir?: string; keepVms?: boolean; listen?: string; images?: string; config?: string }): Promise<Up> {
  const dataDir = opts.dataDir ?? (await tempDir("up"));
  const args = ["up", "--data", dataDir, "--listen", opts.listen ?? "127.0.0.1:0", "--max-vms", String(opts.maxVms)];
  if (opts.keepVms) args.push("--keep-vms");
  if (opts.images) args.push("--images", opts.images);
  if (opts.config) args.push("--config", opts.config);
  const proc = startVgrid(args);
  try {
    const url = await eventually("vgrid up to print its URL", 60_000, async () => {
      if (!proc.running) throw new Hopeless(`vgrid up exited: ${proc.output}`);
      return proc.output.includes("API docs:") ? /VGRID_URL=(\S+)/.exec(proc.output)?.[1] : undefined;
    }, 100);
    // The admin's token is printed at the first start on a data dir only; later ones mint one as it says.
    const adminToken = /VGRID_TOKEN=(vgt_\S+)/.exec(proc.output)?.[1] ?? (await createToken(dataDir, "admin"));
    return { proc, url, dataDir, adminToken };
  } catch (err) {
    await proc.stop("SIGKILL"); // a test that cannot start must not leave it running for the next
    throw err;
  }
}

/** `vgrid token create` on a data dir: the token is alone on stdout's last line. */
export async function createToken(dataDir: string, user: string, admin = false): Promise<string> {
  const args = ["token", "create", "--user", user, "--data", dataDir, ...(admin ? ["--admin"] : [])];
  const { stdout } = await run(VGRID, args);
  return stdout.trim().split("\n").at(-1)!;
}

export interface ApiAnswer<T = unknown> {
  status: number;
  contentType: string;
  body: T;
}

export class Api {
  constructor(readonly url: string, readonly token: string) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const res = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: (text ? JSON.parse(text) : null) as T };
  }

  async vm(id: string): Promise<Vm> {
    const r = await this.call<Vm>("GET", `/vms/${id}`);
    if (r.status !== 200) throw new Error(`GET /vms/${id}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** The VM's boot log (text/plain, not JSON). */
  async log(id: string): Promise<string> {
    const res = await fetch(`${this.url}/api/v1/vms/${id}/log`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.status !== 200 || res.headers.get("content-type") !== "text/plain; charset=utf-8") {
      throw new Error(`GET /vms/${id}/log: ${res.status} ${res.headers.get("content-type")} ${text.slice(0, 500)}`);
    }
    return text;
  }

  async deploy(body: Record<string, unknown>): Promise<Vm> {
    const r = await this.call<Vm>("POST", "/vms", body);
    if (r.status !== 201) throw new Error(`POST /vms: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Waits until the VM is running and answers ssh. */
  async waitReady(id: string, ms = 240_000): Promise<Vm> {
    return eventually(`VM ${id} to run and answer ssh`, ms, async () => {
      const vm = await this.vm(id);
      if (vm.state === "failed") throw new Hopeless(`VM failed: ${vm.error}`);
      return vm.state === "running" && vm.responding ? vm : undefined;
    });
  }

  async terminateAndWait(id: string, ms = 120_000): Promise<Vm> {
    const r = await this.call("DELETE", `/vms/${id}`);
    if (r.status !== 202 && r.status !== 409) throw new Error(`DELETE /vms/${id}: ${r.status} ${JSON.stringify(r.body)}`);
    return eventually(`VM ${id} to be terminated`, ms, async () => {
      const vm = await this.vm(id);
      return vm.state === "terminated" ? vm : undefined;
    });
  }
}

/**
 * Stops a vgrid process (SIGTERM, as an operator would) and checks that nothing it started is left:
 * a process still naming the data dir is killed, and reported as a failure. Removes the data dir.
 */
export async function cleanUp(proc: VgridProcess | undefined, dataDir: string | undefined): Promise<void> {
  await proc?.stop("SIGTERM");
  if (!dataDir) return;
  const left = await processesMentioning(dataDir);
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  if (left.length > 0) throw new Error(`processes left running after the test: ${left.join(", ")}`);
}

/**
 * The VM directories in a node's state directory. The state directory itself must exist (a wrong path
 * fails the test instead of reading as "nothing left"); its `vms` folder appears with the first VM.
 */
export async function vmDirs(nodeStateDir: string): Promise<string[]> {
  if (!(await stat(nodeStateDir)).isDirectory()) throw new Error(`${nodeStateDir} is not a directory`);
  try {
    return (await readdir(join(nodeStateDir, "vms"))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

export { writeFile };

// A real `vgrid server` as a process of its own, for tests that reach it only as nodes and users do:
// over HTTP (the node protocol, the REST API, the event stream). Imports nothing of src/server.
// Each server has its own directory (server.toml, database), removed again by `stop()`.

import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import type { Vm } from "../../src/core/api.js";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually } from "./processes.js";
import { VGRID, cleanUp, startVgrid, tempDir, type VgridProcess } from "./vgrid.js";

const run = promisify(execFile);

/** The token of the server's one host, `h1`. */
export const HOST_TOKEN = "node-token-for-tests-0123456789abcdef";
/** A well-formed public key, for tests where no one logs in to the VM. */
export const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

export interface ServerProcess {
  url: string;
  port: number;
  dir: string;
  proc: VgridProcess;
  /** A user's API token, minted by `vgrid token create` on the server's database. */
  tokenFor(user: string): Promise<string>;
  /** Stops the server (SIGTERM) and removes its directory; fails if it left a process behind. */
  stop(): Promise<void>;
}

/** A server.toml: one host `h1` (5 VMs), the tiny image, 20 hostnames, on 127.0.0.1:`port`. */
function serverToml(port: number): string {
  return [
    'admins = ["admin"]',
    "[listen]",
    'host = "127.0.0.1"',
    `port = ${port}`,
    "[database]",
    'file = "vgrid.db"',
    "[hostnames]",
    "count = 20",
    "[[hosts]]",
    'name = "h1"',
    "maxVms = 5",
    "memoryMiB = 8192",
    "cpus = 8",
    `token = "${HOST_TOKEN}"`,
    "[[images]]",
    'tag = "tiny"',
    'name = "Tiny"',
    'boot = "direct"',
    'disk = "tiny.qcow2"',
    'kernel = "tiny.vmlinuz"',
    'initrd = "tiny.initrd"',
    'cmdline = "console=ttyS0 vgrid_username=${username}"',
    "minMemoryMiB = 128",
    "defaultMemoryMiB = 256",
    "maxMemoryMiB = 2048",
    "maxCpus = 2",
    "",
  ].join("\n");
}

/**
 * Starts `vgrid server` on `port`, or on a free port of 127.0.0.1 (picked again if another process
 * takes it first); resolves once it answers /healthz.
 */
export async function startServerProcess(opts: { port?: number } = {}): Promise<ServerProcess> {
  const dir = await tempDir("server");
  const config = join(dir, "server.toml");
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await pickFreePort("127.0.0.1"));
    await writeFile(config, serverToml(port));
    const url = `http://127.0.0.1:${port}`;
    const proc = startVgrid(["server", "--config", config], { VGRID_LOG: "warn" });
    try {
      await eventually("the server to answer", 30_000, async () => {
        if (!proc.running) throw new Hopeless(`vgrid server exited: ${proc.output}`);
        return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined;
      }, 50);
    } catch (err) {
      await cleanUp(proc, undefined);
      const portTaken = !proc.running && /EADDRINUSE/.test(proc.output);
      if (portTaken && opts.port === undefined && attempt < 3) continue;
      await cleanUp(undefined, dir);
      throw err;
    }
    return {
      url,
      port,
      dir,
      proc,
      async tokenFor(user) {
        const { stdout } = await run(VGRID, ["token", "create", "--user", user, "--config", config]);
        return stdout.trim().split("\n").at(-1)!;
      },
      stop: () => cleanUp(proc, dir),
    };
  }
}

/** The server's `GET /api/v1/events` stream, read as it comes: every vm object the server published. */
export interface EventStream {
  readonly vms: Vm[];
  /** Waits until a published vm matches, and returns it. */
  until(what: string, matches: (vm: Vm) => boolean, ms?: number): Promise<Vm>;
  close(): void;
}

/** Subscribes to the server's events as the token's user; resolves once the server has subscribed it. */
export async function openEvents(url: string, token: string): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/v1/events`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    signal: abort.signal,
  });
  if (!res.ok || res.body === null) throw new Error(`GET /api/v1/events: ${res.status} ${await res.text()}`);
  const vms: Vm[] = [];
  let subscribed: () => void = () => {};
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // The server's first comment comes once it listens for this stream's events.
        if (block.startsWith(":")) subscribed();
        const lines = block.split("\n");
        const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (lines.includes("event: vm") && data) vms.push(JSON.parse(data) as Vm);
      }
    }
  })().catch(() => undefined); // ends with an abort (close) or when the server goes
  await Promise.race([ready, reading.then(() => Promise.reject(new Error("the event stream ended before it began")))]);
  return {
    vms,
    until: (what, matches, ms = 30_000) =>
      eventually(what, ms, async () => vms.find(matches), 20),
    close: () => abort.abort(),
  };
}

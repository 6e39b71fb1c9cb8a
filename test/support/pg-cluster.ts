// `vgrid server` processes on one PostgreSQL database, reached only as users and nodes reach them (over
// HTTP), for the tests of replicas and of the database's faults: a pool of hosts that sync as nodes
// would, deploys that record every answer, and the checks that no host is overbooked and no hostname
// given twice.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { Hopeless, eventually } from "./processes.js";
import { KEY } from "./server.js";
import { VGRID, startVgrid, type VgridProcess } from "./vgrid.js";

const run = promisify(execFile);

export interface PoolShape {
  hosts: number;
  slotsPerHost: number;
}

export const hostTokenOf = (i: number) => `pg-cluster-node-secret-${String(i).padStart(10, "0")}`;
export const hostOf = (i: number) => `h${String(i).padStart(2, "0")}`;

export interface Replica {
  url: string;
  proc: VgridProcess;
  config: string;
}

/**
 * A `vgrid server` in `dir` with its own server.toml (`NAME.toml`, its own port) on the PostgreSQL
 * database at `databaseUrl`, with a pool of `shape.hosts` hosts; resolves once it answers. The caller
 * stops it.
 */
export async function startReplica(dir: string, name: string, databaseUrl: string, shape: PoolShape): Promise<Replica> {
  const port = await pickFreePort("127.0.0.1");
  const hosts = Array.from({ length: shape.hosts }, (_, i) =>
    [`[[hosts]]`, `name = "${hostOf(i)}"`, `maxVms = ${shape.slotsPerHost}`, "memoryMiB = 1048576", "cpus = 1024", `token = "${hostTokenOf(i)}"`].join("\n"),
  );
  const config = join(dir, `${name}.toml`);
  await writeFile(
    config,
    [
      'admins = ["admin"]',
      "nodeOfflineAfterSeconds = 30",
      // The tests race thousands of deploys of a few users: the load itself, not a user to slow down.
      "[rateLimit]",
      "deploysPerUserPerMinute = 0",
      "[listen]",
      'host = "127.0.0.1"',
      `port = ${port}`,
      "[database]",
      `url = "${databaseUrl}"`,
      "[hostnames]",
      `count = ${shape.hosts * shape.slotsPerHost + 200}`,
      ...hosts,
      "[[images]]",
      'tag = "tiny"',
      'name = "Tiny"',
      'disk = "tiny.qcow2"',
      "defaultMemoryMiB = 128",
      "minMemoryMiB = 128",
      "",
    ].join("\n"),
  );
  const proc = startVgrid(["server", "--config", config], { VGRID_LOG: "info" });
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(`replica ${name} to answer`, 60_000, async () => {
      if (!proc.running) throw new Hopeless(`replica ${name} exited: ${proc.output}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined;
    }, 100);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw err;
  }
  return { url, proc, config };
}

/** Host `i`'s node protocol sync, as its agent would send it. */
export function hostSync(url: string, i: number, body: { version?: number; waitSeconds?: number } = {}) {
  return fetch(`${url}/api/v1/nodes/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${hostTokenOf(i)}`, "content-type": "application/json" },
    body: JSON.stringify({ node: hostOf(i), version: body.version ?? 0, waitSeconds: body.waitSeconds ?? 0, sshHost: "127.0.0.1", facts: { memoryMiB: 1, cpus: 1 }, reports: [] }),
  });
}

/** `vgrid token create` on the server's store. */
export async function mintToken(config: string, user: string, admin = false): Promise<string> {
  const { stdout } = await run(VGRID, ["token", "create", "--user", user, ...(admin ? ["--admin"] : []), "--config", config]);
  return stdout.trim().split("\n").at(-1)!;
}

export interface DeployAnswer {
  /** 0: no answer (the server was killed, or the connection broke). */
  status: number;
  contentType?: string;
  type?: string;
  detail?: string;
  name?: string;
  host?: string;
  id?: string;
}

/** One deploy of the tiny image as `bearer`, and what came back. */
export async function deployVm(url: string, bearer: string): Promise<DeployAnswer> {
  try {
    const res = await fetch(`${url}/api/v1/vms`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify({ image: "tiny", sshKeys: [KEY] }),
    });
    const body = (await res.json()) as Omit<DeployAnswer, "status" | "contentType">;
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", ...body };
  } catch {
    return { status: 0 };
  }
}

export interface ListedVm {
  id: string;
  name: string;
  host: string;
  state: string;
}

/** Every live VM of the store, following `next`, as an admin lists them. */
export async function allVms(url: string, admin: string): Promise<ListedVm[]> {
  let vms: ListedVm[] = [];
  let cursor: string | undefined;
  do {
    const res = await fetch(`${url}/api/v1/vms?all=true&limit=5000${cursor ? `&cursor=${cursor}` : ""}`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(res.status, 200, `listing the VMs: ${res.status}`);
    const page = (await res.json()) as { items: ListedVm[]; next?: string };
    vms = vms.concat(page.items);
    cursor = page.next;
  } while (cursor !== undefined);
  return vms;
}

/** No hostname twice, no host over its limit, and each host's recorded use what its VMs hold. */
export async function checkPool(url: string, admin: string, vms: ListedVm[], shape: PoolShape): Promise<void> {
  assert.equal(new Set(vms.map((v) => v.name)).size, vms.length, "no hostname twice");
  const perHost = new Map<string, number>();
  for (const v of vms) perHost.set(v.host, (perHost.get(v.host) ?? 0) + 1);
  assert.ok([...perHost.values()].every((n) => n <= shape.slotsPerHost), `no host over its limit: ${JSON.stringify([...perHost])}`);
  const hosts = (await (await fetch(`${url}/api/v1/hosts`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: Array<{ name: string; vms: number }> };
  for (const h of hosts.items) assert.equal(h.vms, perHost.get(h.name) ?? 0, `${h.name}'s use is what its VMs hold`);
}

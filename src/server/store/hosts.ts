// Host rows: the pool's capacity and use for placement, what nodes say of themselves, and the version of
// what should run on each host that wakes its node's long-poll.

import { sql } from "kysely";
import type { Host } from "../../core/api.js";
import type { NodeFacts } from "../../core/protocol.js";
import { HOLDING_STATES } from "../../core/vm-state.js";
import type { HostLoad } from "../scheduler/placement.js";
import type { DbOrTx } from "./db.js";

export interface LoadOptions {
  now: Date;
  /** Seconds without a sync after which a node counts as offline. */
  offlineAfterSeconds: number;
  /** Schedulable memory and cpus are the host's own times these. */
  overcommit: { memory: number; cpus: number };
}

interface HostWithLoad extends HostLoad {
  removed: boolean;
  lastSeenAt: string | null;
  node: NodeFacts | null;
}

async function loads(db: DbOrTx, options: LoadOptions): Promise<HostWithLoad[]> {
  const onlineSince = new Date(options.now.getTime() - options.offlineAfterSeconds * 1000).toISOString();
  const rows = await db
    .selectFrom("hosts")
    .leftJoin("vms", (j) => j.onRef("vms.host", "=", "hosts.name").on("vms.state", "in", HOLDING_STATES))
    .select([
      "hosts.name",
      "hosts.max_vms",
      "hosts.memory_mib",
      "hosts.cpus",
      "hosts.last_seen_at",
      "hosts.removed_at",
      "hosts.node_memory_mib",
      "hosts.node_cpus",
      (eb) => eb.fn.count<number>("vms.id").as("vms"),
      (eb) => eb.fn.coalesce(eb.fn.sum<number>("vms.memory_mib"), sql<number>`0`).as("used_memory"),
      (eb) => eb.fn.coalesce(eb.fn.sum<number>("vms.cpus"), sql<number>`0`).as("used_cpus"),
    ])
    .groupBy([
      "hosts.name",
      "hosts.max_vms",
      "hosts.memory_mib",
      "hosts.cpus",
      "hosts.last_seen_at",
      "hosts.removed_at",
      "hosts.node_memory_mib",
      "hosts.node_cpus",
    ])
    .orderBy("hosts.name")
    .execute();
  return rows.map((r) => ({
    name: r.name,
    removed: r.removed_at !== null,
    online: r.removed_at === null && r.last_seen_at !== null && r.last_seen_at >= onlineSince,
    lastSeenAt: r.last_seen_at,
    maxVms: r.max_vms,
    vms: Number(r.vms),
    memoryMiB: Math.floor(r.memory_mib * options.overcommit.memory),
    usedMemoryMiB: Number(r.used_memory),
    cpus: Math.floor(r.cpus * options.overcommit.cpus),
    usedCpus: Number(r.used_cpus),
    node: r.node_memory_mib === null || r.node_cpus === null ? null : { memoryMiB: r.node_memory_mib, cpus: r.node_cpus },
  }));
}

/** The hosts that may take VMs (those server.toml names), with their use: what placement reads. */
export async function hostLoads(db: DbOrTx, options: LoadOptions): Promise<HostLoad[]> {
  return (await loads(db, options))
    .filter((h) => !h.removed)
    .map(({ name, online, maxVms, vms, memoryMiB, usedMemoryMiB, cpus, usedCpus }) => ({
      name, online, maxVms, vms, memoryMiB, usedMemoryMiB, cpus, usedCpus,
    }));
}

/** Every host, removed ones included while they are in the store, as admins see them. */
export async function listHosts(db: DbOrTx, options: LoadOptions): Promise<Host[]> {
  return loads(db, options);
}

/** Tells the host's node that what should run there changed (its long-poll compares versions). */
export async function bumpDesiredVersion(db: DbOrTx, host: string): Promise<void> {
  await db
    .updateTable("hosts")
    .set((eb) => ({ desired_version: eb("desired_version", "+", 1) }))
    .where("name", "=", host)
    .execute();
}

export async function desiredVersion(db: DbOrTx, host: string): Promise<number> {
  const row = await db.selectFrom("hosts").select("desired_version").where("name", "=", host).executeTakeFirstOrThrow();
  return row.desired_version;
}

/** The hash a host's node token must match, or undefined for a host that is not (or no longer) in the pool. */
export async function hostTokenHash(db: DbOrTx, host: string): Promise<string | undefined> {
  const row = await db.selectFrom("hosts").select(["token_hash", "removed_at"]).where("name", "=", host).executeTakeFirst();
  return row === undefined || row.removed_at !== null ? undefined : row.token_hash;
}

/**
 * A sync from the host's node: it is online, reachable at `sshHost`, and has `facts`. Returns when the
 * node was last seen before (null: never), so that a node coming back can be told apart.
 */
export async function recordSync(db: DbOrTx, host: string, sync: { at: Date; sshHost: string; facts: NodeFacts }): Promise<string | null> {
  const before = await db.selectFrom("hosts").select("last_seen_at").where("name", "=", host).executeTakeFirst();
  await db
    .updateTable("hosts")
    .set({
      last_seen_at: sync.at.toISOString(),
      ssh_host: sync.sshHost,
      node_memory_mib: sync.facts.memoryMiB,
      node_cpus: sync.facts.cpus,
    })
    .where("name", "=", host)
    .execute();
  return before?.last_seen_at ?? null;
}

/** The host's node is still there (it waited on a long-poll all along). */
export async function markSeen(db: DbOrTx, host: string, at: Date): Promise<void> {
  await db.updateTable("hosts").set({ last_seen_at: at.toISOString() }).where("name", "=", host).execute();
}

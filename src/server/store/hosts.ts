// Host rows: the pool's capacity and what is used of it, what nodes say of themselves, whether each
// node is online, and the version of what should run on each host that wakes its node's long-poll.
// Each host row keeps its own use (VMs, memory, cpus), changed in the transactions that take and give
// back a slot, so that placing a VM reads one row of an index, never every host or every VM.

import { sql } from "kysely";
import type { Host } from "../../core/api.js";
import type { NodeFacts } from "../../core/protocol.js";
import type { HostLoad, VmSize } from "../scheduler/placement.js";
import type { Page } from "../pages.js";
import { isPostgres, type DbOrTx } from "./db.js";

export interface LoadOptions {
  now: Date;
  /** Seconds without a sync after which a node counts as offline. */
  offlineAfterSeconds: number;
  /** Schedulable memory and cpus are the host's own times these. */
  overcommit: { memory: number; cpus: number };
}

function onlineSince(options: LoadOptions): string {
  return new Date(options.now.getTime() - options.offlineAfterSeconds * 1000).toISOString();
}

async function rows(db: DbOrTx, page?: Page) {
  let q = db
    .selectFrom("hosts")
    .select([
      "name", "max_vms", "memory_mib", "cpus", "last_seen_at", "removed_at", "node_memory_mib", "node_cpus",
      "vm_count", "used_memory_mib", "used_cpus", "online",
    ])
    .orderBy("name");
  if (page?.after !== undefined) q = q.where("name", ">", page.after[0]!);
  if (page !== undefined) q = q.limit(page.limit + 1);
  return q.execute();
}

type HostRowUse = Awaited<ReturnType<typeof rows>>[number];

function toLoad(r: HostRowUse, options: LoadOptions): HostLoad & { removed: boolean } {
  return {
    name: r.name,
    removed: r.removed_at !== null,
    online: r.online === 1 && r.removed_at === null && r.last_seen_at !== null && r.last_seen_at >= onlineSince(options),
    maxVms: r.max_vms,
    vms: r.vm_count,
    memoryMiB: Math.floor(r.memory_mib * options.overcommit.memory),
    usedMemoryMiB: r.used_memory_mib,
    cpus: Math.floor(r.cpus * options.overcommit.cpus),
    usedCpus: r.used_cpus,
  };
}

/** The hosts that may take VMs (those server.toml names), with their use. */
export async function hostLoads(db: DbOrTx, options: LoadOptions): Promise<HostLoad[]> {
  return (await rows(db)).map((r) => toLoad(r, options)).filter((h) => !h.removed).map(({ removed: _r, ...load }) => load);
}

/** A page of every host (by name), removed ones included while they are in the store, as admins see them. */
export async function listHosts(db: DbOrTx, options: LoadOptions, page: Page): Promise<Host[]> {
  return (await rows(db, page)).map((r) => ({
    ...toLoad(r, options),
    lastSeenAt: r.last_seen_at,
    node: r.node_memory_mib === null || r.node_cpus === null ? null : { memoryMiB: r.node_memory_mib, cpus: r.node_cpus },
  }));
}

/**
 * Takes a slot for a VM of `size` on the least loaded online host with room, tells its node that what
 * should run there changed (its desired version), and returns the host's name; undefined when no host
 * has room. One statement: the update takes the candidate the placement index gives first, and repeats
 * every condition, so that two transactions on the same host (replicas on PostgreSQL) can never both
 * take its last slot: the second waits for the first's row lock, finds the host full, and tries again.
 */
export async function takeSlot(db: DbOrTx, size: VmSize, options: LoadOptions): Promise<string | undefined> {
  const since = onlineSince(options);
  const { memory, cpus } = options.overcommit;
  const candidates = () =>
    db
      .selectFrom("hosts as candidate")
      .select("candidate.name")
      .where("candidate.online", "=", 1)
      .where("candidate.removed_at", "is", null)
      .where("candidate.last_seen_at", ">=", since)
      .where(sql<boolean>`candidate.vm_count < candidate.max_vms`)
      .where(fits(size, memory, cpus, "candidate"))
      .orderBy("candidate.online")
      .orderBy("candidate.load")
      .orderBy("candidate.name")
      .limit(1);
  const take = (skipLocked: boolean) =>
    db
      .updateTable("hosts")
      .set({
        vm_count: sql`vm_count + 1`,
        used_memory_mib: sql`used_memory_mib + ${size.memoryMiB}`,
        used_cpus: sql`used_cpus + ${size.cpus}`,
        load: sql`case when max_vms > 0 then (vm_count + 1) * 1.0 / max_vms else 1 end`,
        desired_version: sql`desired_version + 1`,
      })
      .where("name", "=", skipLocked ? candidates().forUpdate().skipLocked() : candidates())
      .where(sql<boolean>`vm_count < max_vms`)
      .where(fits(size, memory, cpus, "hosts"))
      .returning("name")
      .executeTakeFirst();
  // On PostgreSQL, concurrent deploys would all pick the same least loaded host and wait on its row
  // one after the other; skipping the rows other deploys hold sends each to the next host instead.
  // Only when every host with room is held does a deploy wait, for the one placement ranks first.
  const postgres = isPostgres(db);
  for (;;) {
    const taken = (postgres ? await take(true) : undefined) ?? (await take(false));
    if (taken) return taken.name;
    // None taken: no host had room, or (PostgreSQL) another transaction took the last slot first.
    if ((await candidates().executeTakeFirst()) === undefined) return undefined;
  }
}

/**
 * Whether the host's memory and cpus, overcommitted, take `size` too (placement.ts's hasCapacity, in
 * SQL). The ratios are cast: PostgreSQL would read a bare parameter beside an integer as an integer.
 */
function fits(size: VmSize, memory: number, cpus: number, table: "hosts" | "candidate") {
  const t = sql.raw(table);
  return sql<boolean>`${t}.used_memory_mib + ${size.memoryMiB} <= ${t}.memory_mib * cast(${memory} as double precision) and ${t}.used_cpus + ${size.cpus} <= ${t}.cpus * cast(${cpus} as double precision)`;
}

/** Gives a terminated VM's slot back to its host. */
export async function releaseSlot(db: DbOrTx, host: string, size: VmSize): Promise<void> {
  await db
    .updateTable("hosts")
    .set({
      vm_count: sql`vm_count - 1`,
      used_memory_mib: sql`used_memory_mib - ${size.memoryMiB}`,
      used_cpus: sql`used_cpus - ${size.cpus}`,
      load: sql`case when max_vms > 0 then (vm_count - 1) * 1.0 / max_vms else 1 end`,
    })
    .where("name", "=", host)
    .execute();
}

/** Whether any node (or node `name`) is online now: when none is, a deploy is a 503, not a 409. */
export async function anyHostOnline(db: DbOrTx, options: LoadOptions, name?: string): Promise<boolean> {
  let q = db
    .selectFrom("hosts")
    .select("name")
    .where("online", "=", 1)
    .where("removed_at", "is", null)
    .where("last_seen_at", ">=", onlineSince(options));
  if (name !== undefined) q = q.where("name", "=", name);
  return (await q.limit(1).executeTakeFirst()) !== undefined;
}

/** How many more VMs the online hosts can take, by their VM limits (memory and cpus aside). */
export async function freeSlots(db: DbOrTx, options: LoadOptions): Promise<number> {
  const { n } = await db
    .selectFrom("hosts")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb(eb.ref("max_vms"), "-", eb.ref("vm_count"))), eb.lit(0)).as("n"))
    .where("online", "=", 1)
    .where("removed_at", "is", null)
    .where("last_seen_at", ">=", onlineSince(options))
    .where((eb) => eb("vm_count", "<", eb.ref("max_vms")))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** How many nodes synced since `since` (and are in the pool). */
export async function countOnlineHosts(db: DbOrTx, since: string): Promise<number> {
  const { n } = await db
    .selectFrom("hosts")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("online", "=", 1)
    .where("removed_at", "is", null)
    .where("last_seen_at", ">=", since)
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** Nodes silent for longer than the offline limit are marked offline; returns them, with their last sync. */
export async function markOffline(db: DbOrTx, options: LoadOptions): Promise<Array<{ name: string; lastSeenAt: string | null }>> {
  const since = onlineSince(options);
  const silent = await db
    .selectFrom("hosts")
    .select(["name", "last_seen_at"])
    .where("online", "=", 1)
    .where((eb) => eb.or([eb("last_seen_at", "is", null), eb("last_seen_at", "<", since), eb("removed_at", "is not", null)]))
    .execute();
  if (silent.length === 0) return [];
  const names = silent.map((h) => h.name);
  await db.updateTable("hosts").set({ online: 0 }).where("name", "in", names).execute();
  return silent.map((h) => ({ name: h.name, lastSeenAt: h.last_seen_at }));
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

/** The host whose node's secret has the hash `tokenHash`, unless it is not (or no longer) in the pool. */
export async function hostForTokenHash(db: DbOrTx, tokenHash: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("hosts")
    .select("name")
    .where("token_hash", "=", tokenHash)
    .where("token_hash", "!=", "")
    .where("removed_at", "is", null)
    .executeTakeFirst();
  return row?.name;
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
      online: 1,
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
  await db.updateTable("hosts").set({ last_seen_at: at.toISOString(), online: 1 }).where("name", "=", host).execute();
}

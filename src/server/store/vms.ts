// VM rows: read as the API's vm object, written by the VM service and the node protocol.

import { sql, type RawBuilder } from "kysely";
import type { SshHostKey, Vm } from "../../core/api.js";
import { sshFingerprint } from "../../core/ssh-keys.js";
import { isSafeSshHost } from "../../core/protocol.js";
import { HOLDING_STATES, isPoweredOff, type VmState } from "../../core/vm-state.js";
import type { Page } from "../pages.js";
import { isPostgres, type DbOrTx } from "./db.js";
import type { NewVm, VmRow, VmTable } from "./schema.js";

/**
 * The vm object of API.md, with `errorDetail` (for admins: the service drops it for others). `sshHost`
 * is the address clients use to reach the VM's node; one that is not a plain host name or IP literal
 * (stored before nodes' requests were checked) is never shown, since `vgrid ssh` hands it to ssh.
 */
export function toVm(row: VmRow, sshHost: string | null, hostLastSeen: string | null = null, hostOnline = true): Vm {
  // A VM of an offline node is not known to answer: it shows as not responding, last seen at its node's last sync.
  const responding = row.responding === 1 && hostOnline;
  const reachable =
    row.ssh_port !== null &&
    sshHost !== null &&
    isSafeSshHost(sshHost) &&
    (row.state === "running" || row.state === "terminating");
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    image: row.image,
    host: row.host,
    state: row.state as VmState,
    responding,
    // While it answers, it was last seen at its node's last sync (nothing is written per VM then).
    lastSeenAt: row.responding === 1 ? (hostLastSeen ?? row.last_seen_at) : row.last_seen_at,
    memoryMiB: row.memory_mib,
    cpus: row.cpus,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    ssh: reachable ? { host: sshHost, port: row.ssh_port!, user: "root" } : null,
    ip: row.ip,
    mac: row.mac,
    error: row.error,
    errorDetail: row.error_detail,
    sshHostKeys: hostKeys(row.ssh_host_keys),
    terminatedBy: row.terminated_by,
    reason: row.termination_reason,
    updatedAt: row.updated_at,
    transition: transitionOf(row),
  };
}

/**
 * What the VM's node is still doing at an owner's request: stopping a VM it last reported running or
 * booting; a reboot it has not confirmed.
 */
function transitionOf(row: Pick<VmRow, "state" | "node_state" | "reboot_asked" | "reboot_done">): Vm["transition"] {
  const state = row.state as VmState;
  if (isPoweredOff(state) && (row.node_state === "running" || row.node_state === "provisioning")) return "stopping";
  if (state === "running" && row.reboot_asked > row.reboot_done) return "rebooting";
  return null;
}

function hostKeys(json: string | null): SshHostKey[] {
  const keys = json === null ? [] : (JSON.parse(json) as string[]);
  return keys.map((line) => {
    const [type = "", key = ""] = line.split(" ");
    return { type, key, fingerprint: sshFingerprint(line) };
  });
}

function selectVmsWithHost(db: DbOrTx) {
  return db
    .selectFrom("vms")
    .innerJoin("hosts", "hosts.name", "vms.host")
    .selectAll("vms")
    .select(["hosts.ssh_host", "hosts.last_seen_at as host_last_seen", "hosts.online as host_online"]);
}

export async function findVm(db: DbOrTx, id: string): Promise<Vm | undefined> {
  const row = await selectVmsWithHost(db).where("vms.id", "=", id).executeTakeFirst();
  return row && toVm(row, row.ssh_host, row.host_last_seen, row.host_online === 1);
}

/** The VMs of `ids` that exist, in one query per chunk (for publishing what a pass changed). */
export async function findVms(db: DbOrTx, ids: readonly string[]): Promise<Vm[]> {
  const out: Vm[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await selectVmsWithHost(db).where("vms.id", "in", ids.slice(i, i + 500)).execute();
    out.push(...rows.map((r) => toVm(r, r.ssh_host, r.host_last_seen, r.host_online === 1)));
  }
  return out;
}

export interface VmFilter {
  owner?: string | undefined;
  host?: string | undefined;
  image?: string | undefined;
  /** One state; undefined: every VM that is not terminated. */
  state?: VmState | undefined;
}

/** The VMs that match, oldest first, `page.limit + 1` of them after `page.after` (created_at, id). */
export async function listVms(db: DbOrTx, filter: VmFilter, page: Page): Promise<Vm[]> {
  let q = selectVmsWithHost(db);
  if (filter.owner !== undefined) q = q.where("vms.owner", "=", filter.owner);
  if (filter.host !== undefined) q = q.where("vms.host", "=", filter.host);
  if (filter.image !== undefined) q = q.where("vms.image", "=", filter.image);
  q = filter.state !== undefined ? q.where("vms.state", "=", filter.state) : q.where("vms.state", "!=", "terminated");
  const after = page.after;
  if (after !== undefined) {
    const [createdAt, id] = after as [string, string];
    q = q.where((eb) => eb.or([eb("vms.created_at", ">", createdAt), eb.and([eb("vms.created_at", "=", createdAt), eb("vms.id", ">", id)])]));
  }
  const rows = await q.orderBy("vms.created_at").orderBy("vms.id").limit(page.limit + 1).execute();
  return rows.map((r) => toVm(r, r.ssh_host, r.host_last_seen, r.host_online === 1));
}

/** The key a page of VMs is ordered by, for its cursor. */
export const vmPageKey = (vm: Vm): string[] => [vm.createdAt, vm.id];

export async function insertVm(db: DbOrTx, vm: NewVm): Promise<void> {
  await db.insertInto("vms").values(vm).execute();
}

/** What the VMs of `owner` that hold a slot use: what counts against a quota. */
export async function holdingUse(db: DbOrTx, owner: string): Promise<{ vms: number; memoryMiB: number; cpus: number }> {
  const row = await db
    .selectFrom("vms")
    .select((eb) => [eb.fn.countAll<number>().as("vms"), eb.fn.sum<number>("memory_mib").as("memory"), eb.fn.sum<number>("cpus").as("cpus")])
    .where("owner", "=", owner)
    .where("state", "in", HOLDING_STATES)
    .executeTakeFirstOrThrow();
  // sum() is null over no rows, and PostgreSQL's count and sum are bigints (strings).
  return { vms: Number(row.vms), memoryMiB: Number(row.memory ?? 0), cpus: Number(row.cpus ?? 0) };
}

/**
 * Marks a VM terminating from one of `from`, with who asked (a username or `policy:...`) and why; false
 * if it was in none of them (someone else moved it first).
 */
export async function askTermination(
  db: DbOrTx,
  id: string,
  from: readonly VmState[],
  asked: { by: string; reason: string | null },
  at: Date,
): Promise<boolean> {
  const result = await db
    .updateTable("vms")
    // Nothing more for the policy pass to do: it is on its way out.
    .set({ state: "terminating", terminated_by: asked.by, termination_reason: asked.reason, updated_at: at.toISOString(), policy_at: null })
    .where("id", "=", id)
    .where("state", "in", from)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Moves a VM from one of `from` to `to` (a power action: stop, start, reboot's bookkeeping), with
 * what its node must know; false if it was in none of them (someone else moved it first).
 */
export async function movePower(
  db: DbOrTx,
  id: string,
  from: readonly VmState[],
  to: VmState,
  at: Date,
  also: { forceStop?: boolean; reboot?: { force: boolean } } = {},
): Promise<boolean> {
  const result = await db
    .updateTable("vms")
    .set((eb) => ({
      state: to,
      updated_at: at.toISOString(),
      // Powered off or booting again: its guest answers only once its node says so; one that answered
      // until now was last seen now (as a sync that hears it stop answering says).
      ...(to === "running" ? {} : { responding: 0, last_seen_at: sql<string | null>`case when responding = 1 then ${at.toISOString()} else last_seen_at end` }),
      ...(also.forceStop === undefined ? {} : { force_stop: also.forceStop ? 1 : 0 }),
      ...(also.reboot === undefined ? {} : { reboot_asked: eb("reboot_asked", "+", 1), reboot_force: also.reboot.force ? 1 : 0 }),
    }))
    .where("id", "=", id)
    .where("state", "in", from)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * The VM's state and expiry, read for a change that depends on them: its row is locked until the
 * transaction ends on PostgreSQL, so that two extends add up (SQLite has one writer at a time anyway).
 */
export async function lockVm(db: DbOrTx, id: string): Promise<{ state: VmState; expiresAt: string | null; host: string } | undefined> {
  let q = db.selectFrom("vms").select(["state", "expires_at", "host"]).where("id", "=", id);
  if (isPostgres(db)) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row && { state: row.state as VmState, expiresAt: row.expires_at, host: row.host };
}

export async function setExpiry(db: DbOrTx, id: string, expiresAt: string | null, at: Date): Promise<void> {
  await db.updateTable("vms").set({ expires_at: expiresAt, updated_at: at.toISOString() }).where("id", "=", id).execute();
}

/** What the node protocol compares a report with: the VMs of `ids` placed on `host`, and no other. */
export async function vmsOnHost(db: DbOrTx, host: string, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom("vms")
    .select([
      "id", "state", "responding", "ssh_port", "ip", "error", "error_detail", "ssh_host_keys", "memory_mib", "cpus", "request_id",
      "node_state", "reboot_asked", "reboot_done", "crash_restart",
    ])
    .where("host", "=", host)
    .where("id", "in", ids)
    .execute();
}

/** Where the VMs of `ids` are placed (those the store knows). */
export async function hostsOfVms(db: DbOrTx, ids: readonly string[]): Promise<Array<{ id: string; host: string }>> {
  if (ids.length === 0) return [];
  return db.selectFrom("vms").select(["id", "host"]).where("id", "in", ids).execute();
}

export type ReportedVmRow = Awaited<ReturnType<typeof vmsOnHost>>[number];

/** What a node's report changes in one VM's row. */
export type VmChange = { id: string } & Pick<
  VmTable,
  "state" | "responding" | "ssh_port" | "ip" | "error" | "error_detail" | "ssh_host_keys" | "updated_at" | "node_state" | "crash_restart"
> & {
  last_seen_at?: string;
  reboot_done?: number;
  /** Not a column: what the VM's history says of the change, when the state alone does not (a crash restart, a reboot). */
  note?: string | null;
};

/** Columns of a change and their SQL types, for the casts PostgreSQL needs inside CASE. */
const CHANGE_COLUMNS = {
  state: "text",
  responding: "integer",
  ssh_port: "integer",
  ip: "text",
  error: "text",
  error_detail: "text",
  ssh_host_keys: "text",
  updated_at: "text",
  last_seen_at: "text",
  node_state: "text",
  crash_restart: "text",
  reboot_done: "integer",
} as const;

/**
 * Applies many VMs' changes in one statement per chunk: `set col = case id when ... then ... end`.
 * A node's sync costs one write whatever its number of VMs, not one per VM.
 */
export async function updateVms(db: DbOrTx, changes: readonly VmChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += 100) {
    const chunk = changes.slice(i, i + 100);
    const set: Record<string, RawBuilder<unknown>> = {};
    for (const [column, type] of Object.entries(CHANGE_COLUMNS) as Array<[keyof typeof CHANGE_COLUMNS, string]>) {
      const given = chunk.filter((c) => c[column] !== undefined);
      if (given.length === 0) continue;
      const whens = given.map((c) => sql`when ${c.id} then cast(${c[column]} as ${sql.raw(type)})`);
      set[column] = sql`case id ${sql.join(whens, sql` `)} else ${sql.ref(column)} end`;
    }
    await db.updateTable("vms").set(set).where("id", "in", chunk.map((c) => c.id)).execute();
  }
}

/** The VMs still placed on `host` that hold a slot there, with what their node needs to build them. */
export async function placedVms(db: DbOrTx, host: string) {
  return db
    .selectFrom("vms")
    .innerJoin("images", "images.tag", "vms.image")
    .leftJoin("hostnames", "hostnames.vm_id", "vms.id")
    .select([
      "vms.id",
      "vms.name",
      "vms.owner",
      "vms.memory_mib",
      "vms.cpus",
      "vms.mac",
      "vms.ssh_keys",
      "vms.state",
      "hostnames.extra",
      "images.tag",
      "images.disk",
      "images.kernel",
      "images.initrd",
      "images.cmdline",
      "images.restart_on_crash",
      "vms.request_id",
      "vms.force_stop",
      "vms.reboot_asked",
      "vms.reboot_done",
      "vms.reboot_force",
    ])
    .where("vms.host", "=", host)
    .where("vms.state", "in", HOLDING_STATES)
    .orderBy("vms.created_at")
    .execute();
}

/**
 * The live VMs whose expiry is at or before `before`, soonest first, at most `limit`: what the policy
 * pass terminates (with `before` = now) or warns about (with `before` = now + the warning's lead).
 * Read from the partial index vms_due, so it costs the VMs it returns, not the VMs there are.
 */
export async function vmsDue(db: DbOrTx, before: Date, limit: number): Promise<Array<{ id: string; owner: string; expiresAt: string }>> {
  const rows = await db
    .selectFrom("vms")
    .select(["id", "owner", "expires_at"])
    .where("state", "!=", "terminated")
    .where("expires_at", "<=", before.toISOString())
    .orderBy("expires_at")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, owner: r.owner, expiresAt: r.expires_at! }));
}

/** VM counts by state and image, for the metrics. */
export async function countVmsByStateAndImage(db: DbOrTx): Promise<Array<{ state: string; image: string; count: number }>> {
  const rows = await db
    .selectFrom("vms")
    .select(["state", "image", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy(["state", "image"])
    .execute();
  return rows.map((r) => ({ state: r.state, image: r.image, count: Number(r.n) }));
}

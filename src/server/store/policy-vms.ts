// The VM rows the policy pass reads and writes: the VMs due (from the index vms_policy_due), one VM
// locked for a decision, the VMs that stopped answering and those mailed about it (each from its own
// partial index): a pass costs the VMs it acts on, never a scan of every VM.

import type { VmState } from "../../core/vm-state.js";
import { isPostgres, type DbOrTx } from "./db.js";

/** The VMs whose policy time has come, soonest first, at most `limit`. */
export async function vmsPolicyDue(db: DbOrTx, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom("vms")
    .select("id")
    .where("policy_at", "is not", null)
    .where("policy_at", "<=", now.toISOString())
    .orderBy("policy_at")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export interface PolicyVm {
  id: string;
  name: string;
  owner: string;
  image: string;
  host: string;
  state: VmState;
  expiresAt: string | null;
  policyAt: string | null;
  warnedExpiresAt: string | null;
}

/** The VMs of `ids` read for the pass's decisions: their rows locked until the transaction ends on PostgreSQL (SQLite has one writer). */
export async function lockPolicyVms(db: DbOrTx, ids: readonly string[]): Promise<PolicyVm[]> {
  if (ids.length === 0) return [];
  let q = db
    .selectFrom("vms")
    .select(["id", "name", "owner", "image", "host", "state", "expires_at", "policy_at", "warned_expires_at"])
    .where("id", "in", ids)
    .orderBy("id");
  // In id order: two passes at once lock their common VMs in the same order, so that neither waits on the other in a cycle.
  if (isPostgres(db)) q = q.forUpdate();
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    owner: r.owner,
    image: r.image,
    host: r.host,
    state: r.state as VmState,
    expiresAt: r.expires_at,
    policyAt: r.policy_at,
    warnedExpiresAt: r.warned_expires_at,
  }));
}

/** Sets what the pass keeps of a VM: its next policy time, and the expiry its last warning announced. */
export async function setPolicyTimes(db: DbOrTx, id: string, times: { policyAt: Date | null; warnedExpiresAt?: Date }): Promise<void> {
  await db
    .updateTable("vms")
    .set({
      policy_at: times.policyAt?.toISOString() ?? null,
      ...(times.warnedExpiresAt === undefined ? {} : { warned_expires_at: times.warnedExpiresAt.toISOString() }),
    })
    .where("id", "=", id)
    .execute();
}

export interface SilentVm {
  id: string;
  name: string;
  owner: string;
  host: string;
  /** When it last answered. */
  lastSeenAt: string;
}

const SILENT_COLUMNS = ["vms.id", "vms.name", "vms.owner", "vms.host", "vms.last_seen_at"] as const;

/**
 * The running VMs of online nodes that have not answered since `before` and were not mailed about it
 * (the partial index vms_silent holds only running, silent, unmailed VMs).
 */
export async function vmsSilentSince(db: DbOrTx, before: Date, limit: number): Promise<SilentVm[]> {
  const rows = await db
    .selectFrom("vms")
    .innerJoin("hosts", "hosts.name", "vms.host")
    .select(SILENT_COLUMNS)
    .where("vms.state", "=", "running")
    .where("vms.responding", "=", 0)
    .where("vms.silence_mailed", "is", null)
    .where("vms.last_seen_at", "<=", before.toISOString())
    .where("hosts.online", "=", 1)
    .orderBy("vms.last_seen_at")
    .orderBy("vms.id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, owner: r.owner, host: r.host, lastSeenAt: r.last_seen_at! }));
}

/** The VMs mailed as not responding (few), with what says whether they answer again. */
export async function vmsSilenceMailed(db: DbOrTx, limit: number) {
  return db
    .selectFrom("vms")
    .innerJoin("hosts", "hosts.name", "vms.host")
    .select(["vms.id", "vms.name", "vms.owner", "vms.host", "vms.state", "vms.responding", "vms.silence_mailed", "vms.last_seen_at", "hosts.online"])
    .where("vms.silence_mailed", "is not", null)
    .orderBy("vms.id")
    .limit(limit)
    .execute();
}

/** A VM's liveness as a decision of the pass needs it, its row locked (PostgreSQL). */
export async function lockLiveness(db: DbOrTx, id: string) {
  let q = db
    .selectFrom("vms")
    .innerJoin("hosts", "hosts.name", "vms.host")
    .select(["vms.state", "vms.responding", "vms.last_seen_at", "vms.silence_mailed", "hosts.online"])
    .where("vms.id", "=", id);
  if (isPostgres(db)) q = q.forUpdate("vms");
  return q.executeTakeFirst();
}

export async function setSilenceMailed(db: DbOrTx, id: string, since: string | null): Promise<void> {
  await db.updateTable("vms").set({ silence_mailed: since }).where("id", "=", id).execute();
}

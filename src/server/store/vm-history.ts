// VMs' histories: a row per change of a VM's state, written in the transaction of the change, so that
// the story never misses a step nor tells one that did not happen.

import type { VmHistoryEntry as VmHistoryItem } from "../../core/api.js";
import type { VmState } from "../../core/vm-state.js";
import { afterId, type Page } from "../pages.js";
import type { DbOrTx } from "./db.js";

export interface VmHistoryEntry {
  vmId: string;
  at: Date;
  state: VmState;
  /** A username, `node`, or `policy:...`. */
  by: string;
  detail: string | null;
}

/** Rows per statement: a node's sync may move many VMs at once. */
const CHUNK = 200;

export async function recordHistory(db: DbOrTx, entries: readonly VmHistoryEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += CHUNK) {
    const rows = entries.slice(i, i + CHUNK).map((e) => ({ vm_id: e.vmId, at: e.at.toISOString(), state: e.state, actor: e.by, detail: e.detail }));
    await db.insertInto("vm_history").values(rows).execute();
  }
}

/** A page of the VM's history, oldest first, after `page.after` (a row id). */
export async function listHistory(db: DbOrTx, vmId: string, page: Page): Promise<Array<VmHistoryItem & { id: number }>> {
  let q = db.selectFrom("vm_history").select(["id", "at", "state", "actor", "detail"]).where("vm_id", "=", vmId);
  const after = afterId(page);
  if (after !== undefined) q = q.where("id", ">", after);
  const rows = await q.orderBy("id").limit(page.limit + 1).execute();
  return rows.map((r) => ({ id: r.id, at: r.at, state: r.state as VmState, by: r.actor, detail: r.detail }));
}

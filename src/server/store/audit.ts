// The audit log: who did what, when, from where. Never a secret. Written in the transaction of the
// change it records, so that a change is never without its row, nor a row without its change.

import type { AuditEntry as AuditRow } from "../../core/api.js";
import type { Page } from "../pages.js";
import type { DbOrTx } from "./db.js";

export interface AuditEntry {
  at: Date;
  actor: string;
  /** `area.verb`: vm.deploy, vm.terminate, token.create, ... */
  action: string;
  target: string | null;
  address: string | null;
  detail?: string | null;
}

export async function insertAudit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  await db
    .insertInto("audit")
    .values({
      at: entry.at.toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      address: entry.address,
      detail: entry.detail ?? null,
    })
    .execute();
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
}

/** A page of the audit log, newest first, each filter exact; read from an index whichever is given. */
export async function listAudit(db: DbOrTx, filter: AuditFilter, page: Page): Promise<Array<AuditRow & { id: number }>> {
  let q = db.selectFrom("audit").select(["id", "at", "actor", "action", "target", "address", "detail"]);
  if (filter.actor !== undefined) q = q.where("actor", "=", filter.actor);
  if (filter.action !== undefined) q = q.where("action", "=", filter.action);
  if (filter.target !== undefined) q = q.where("target", "=", filter.target);
  if (page.after !== undefined) q = q.where("id", "<", Number(page.after[0]));
  const rows = await q.orderBy("id", "desc").limit(page.limit + 1).execute();
  return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, ip: r.address, detail: r.detail }));
}

// The audit log: who did what, when, from where. Never a secret. Written in the transaction of the
// change it records, so that a change is never without its row, nor a row without its change.

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

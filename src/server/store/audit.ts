// The audit log: who did what, when, from where. Never a secret. Written in the transaction of the
// change it records, so that a change is never without its row, nor a row without its change.

import { sql } from "kysely";
import type { AuditEntry as AuditRow } from "../../core/api.js";
import { afterId, type Page } from "../pages.js";
import { isPostgres, type DbOrTx } from "./db.js";

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
  await insertAudits(db, [entry]);
}

/** Several rows in one statement per chunk (the policy pass's decisions). */
export async function insertAudits(db: DbOrTx, entries: readonly AuditEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 200) {
    const rows = entries.slice(i, i + 200).map((entry) => ({
      at: entry.at.toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      address: entry.address,
      detail: entry.detail ?? null,
    }));
    await db.insertInto("audit").values(rows).execute();
  }
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  /** Text found anywhere in the actor, action, target or detail; letters A-Z in either case. */
  text?: string | undefined;
}

/**
 * A page of the audit log, newest first, each exact filter read from an index whichever is given; a
 * `text` search reads the rows newest first until the page is full.
 */
export async function listAudit(db: DbOrTx, filter: AuditFilter, page: Page): Promise<Array<AuditRow & { id: number }>> {
  let q = db.selectFrom("audit").select(["id", "at", "actor", "action", "target", "address", "detail"]);
  if (filter.actor !== undefined) q = q.where("actor", "=", filter.actor);
  if (filter.action !== undefined) q = q.where("action", "=", filter.action);
  if (filter.target !== undefined) q = q.where("target", "=", filter.target);
  if (filter.text !== undefined && filter.text !== "") {
    const pattern = `%${asciiLower(filter.text).replace(/[!%_]/g, (c) => `!${c}`)}%`;
    q = q.where((eb) => eb.or(SEARCHED.map((column) => sql<boolean>`${asciiFolded(db, column)} like ${pattern} escape '!'`)));
  }
  const after = afterId(page);
  if (after !== undefined) q = q.where("id", "<", after);
  const rows = await q.orderBy("id", "desc").limit(page.limit + 1).execute();
  return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, ip: r.address, detail: r.detail }));
}

/** The columns a text search looks in. */
const SEARCHED = ["actor", "action", "target", "detail"] as const;

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = UPPER.toLowerCase();

/**
 * Only the letters A-Z are folded, on both stores alike: SQLite's lower() folds no others, and
 * PostgreSQL's would fold more, or fewer, as its locale says; so a search finds the same rows on both.
 * (The pattern's `!` escapes LIKE's wildcards, so that `%` and `_` in a search are matched as written.)
 */
function asciiFolded(db: DbOrTx, column: (typeof SEARCHED)[number]) {
  return isPostgres(db) ? sql<string>`translate(${sql.ref(column)}, ${UPPER}, ${LOWER})` : sql<string>`lower(${sql.ref(column)})`;
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// One-time extend links of expiry mails (`publicUrl/extend/TOKEN`): bound to a VM and to the expiry
// they extend, used once, no login needed. The mail holds the secret; the store holds its keyed hash
// (as for login links), so that a copy of the store extends nothing.

import { randomBytes } from "node:crypto";
import type { Insertable } from "kysely";
import type { DbOrTx } from "./db.js";
import type { ExtendLinkTable } from "./schema.js";
import { hashSecret } from "./secrets.js";

/** A new link's row, to be written by insertExtendLinks in the transaction of the mail that carries it. */
export type NewExtendLink = Insertable<ExtendLinkTable>;

/** Makes a link for VM `vmId` and its expiry `expiresAt`: its secret (for the mail) and its row (for the store). */
export async function newExtendLink(db: DbOrTx, vmId: string, expiresAt: Date, now: Date): Promise<{ secret: string; row: NewExtendLink }> {
  const secret = `vgx_${randomBytes(24).toString("base64url")}`;
  const row = { hash: await hashSecret(db, secret), vm_id: vmId, expires_at: expiresAt.toISOString(), created_at: now.toISOString(), used_at: null };
  return { secret, row };
}

export async function insertExtendLinks(db: DbOrTx, rows: readonly NewExtendLink[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) await db.insertInto("extend_links").values(rows.slice(i, i + 200)).execute();
}

export interface ExtendLink {
  hash: string;
  vmId: string;
  /** The expiry it extends. */
  expiresAt: string;
  usedAt: string | null;
}

/** The link of a secret, without changing anything (a mail scanner's GET); undefined when unknown. */
export async function findExtendLink(db: DbOrTx, secret: string): Promise<ExtendLink | undefined> {
  const row = await db.selectFrom("extend_links").selectAll().where("hash", "=", await hashSecret(db, secret)).executeTakeFirst();
  return row && { hash: row.hash, vmId: row.vm_id, expiresAt: row.expires_at, usedAt: row.used_at };
}

/** Uses the link once: the update is the check, so that two presses at once cannot both extend. */
export async function useExtendLink(db: DbOrTx, hash: string, now: Date): Promise<boolean> {
  const result = await db.updateTable("extend_links").set({ used_at: now.toISOString() }).where("hash", "=", hash).where("used_at", "is", null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

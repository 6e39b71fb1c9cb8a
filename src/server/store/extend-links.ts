// One-time extend links of expiry mails (`publicUrl/extend/TOKEN`): bound to a VM and to the expiry
// they extend, used once, no login needed. The mail holds the secret; the store holds its keyed hash
// (as for login links), so that a copy of the store extends nothing.

import { randomBytes } from "node:crypto";
import type { DbOrTx } from "./db.js";
import { hashSecret } from "./secrets.js";

/** Makes a link for VM `vmId` and its expiry `expiresAt`, in the caller's transaction; returns its secret. */
export async function createExtendLink(db: DbOrTx, vmId: string, expiresAt: Date, now: Date): Promise<string> {
  const secret = `vgx_${randomBytes(24).toString("base64url")}`;
  await db
    .insertInto("extend_links")
    .values({ hash: await hashSecret(db, secret), vm_id: vmId, expires_at: expiresAt.toISOString(), created_at: now.toISOString(), used_at: null })
    .execute();
  return secret;
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

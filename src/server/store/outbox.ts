// The mail outbox: every mail vgrid sends is first a row here, written in the transaction of the
// decision that causes it (DESIGN.md: a crash never loses a mail), under a key that makes it once
// per VM, kind and occasion: a second decision with the same key adds nothing. A sender (mail/) takes
// queued rows, sends them, and marks them sent, or failed with their error and a next attempt.

import type { DbOrTx } from "./db.js";

/** The kinds of mail (API.md, Policies and mail), in /outbox and in each mail's X-Vgrid-Kind header. */
export const MAIL_KINDS = [
  "expiry-warning",
  "expired",
  "terminated",
  "not-responding",
  "responding-again",
  "node-offline",
  "admin-terminated",
] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export type MailState = "queued" | "sent" | "failed";

export interface OutgoingMail {
  /**
   * Once per key, ever: the VM, the kind and its occasion, e.g. `expiry-warning:VMID:EXPIRESAT:24h`
   * or `not-responding:VMID:SINCE`. The Message-ID is made from it, so a resend is the same mail.
   */
  key: string;
  kind: MailKind;
  vmId: string | null;
  /** One address; a mail to several people is several rows (each its own key, e.g. `...:to:ADDRESS`). */
  to: string;
  subject: string;
  /** The mail as plain text and as HTML; every value in the HTML escaped by whoever renders it. */
  text: string;
  html: string;
}

/**
 * Queues `mail` in the caller's transaction; false (and nothing written) when a mail of that key was
 * queued before, whatever became of it.
 */
export async function enqueueMail(tx: DbOrTx, mail: OutgoingMail, now: Date): Promise<boolean> {
  return (await enqueueMails(tx, [mail], now)) > 0;
}

/** Queues `mails` in the caller's transaction, one statement per chunk; how many were new (the others' keys were queued before). */
export async function enqueueMails(tx: DbOrTx, mails: readonly OutgoingMail[], now: Date): Promise<number> {
  const at = now.toISOString();
  let added = 0;
  for (let i = 0; i < mails.length; i += 200) {
    const inserted = await tx
      .insertInto("mail_outbox")
      .values(
        mails.slice(i, i + 200).map((mail) => ({
          key: mail.key,
          kind: mail.kind,
          vm_id: mail.vmId,
          to_address: mail.to,
          subject: mail.subject,
          text_body: mail.text,
          html_body: mail.html,
          state: "queued",
          attempts: 0,
          last_error: null,
          next_attempt_at: at,
          created_at: at,
          sent_at: null,
        })),
      )
      .onConflict((oc) => oc.column("key").doNothing())
      .executeTakeFirst();
    added += Number(inserted.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

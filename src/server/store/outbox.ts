// The mail outbox: every mail vgrid sends is first a row here, written in the transaction of the
// decision that causes it (DESIGN.md: a crash never loses a mail), under a key that makes it once
// per VM, kind and occasion: a second decision with the same key adds nothing. A sender (mail/) takes
// queued rows, sends them, and marks them sent, or failed with their error and a next attempt.

import type { OutboxEntry } from "../../core/api.js";
import type { MailKind, MailState } from "../../core/mail.js";
import { afterId, type Page } from "../pages.js";
import { isPostgres, type DbOrTx } from "./db.js";

export { MAIL_KINDS, type MailKind, type MailState } from "../../core/mail.js";

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

/** A queued mail a sender has taken, with the claim that makes its outcome this sender's to record. */
export interface ClaimedMail {
  id: number;
  key: string;
  kind: string;
  vmId: string | null;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Tries before this one. */
  attempts: number;
  createdAt: string;
  /** The next_attempt_at the claim wrote: the outcome is recorded only while it is still there. */
  claim: string;
}

/**
 * Takes up to `limit` queued mails due at `now`, oldest due first, for one sender until `until`: their
 * next attempt is pushed to `until`, so that no other sender (another replica) takes them meanwhile.
 * Rows another replica's claim holds locked are skipped, not waited for (PostgreSQL); SQLite has one
 * writer. A sender that dies holding a claim lets it lapse, and the mail is sent by the next.
 */
export async function claimDueMail(tx: DbOrTx, now: Date, until: Date, limit: number): Promise<ClaimedMail[]> {
  let due = tx
    .selectFrom("mail_outbox")
    .select("id")
    .where("state", "=", "queued")
    .where("next_attempt_at", "<=", now.toISOString())
    .orderBy("next_attempt_at")
    .orderBy("id")
    .limit(limit);
  if (isPostgres(tx)) due = due.forUpdate().skipLocked();
  const claim = until.toISOString();
  const rows = await tx
    .updateTable("mail_outbox")
    .set({ next_attempt_at: claim })
    .where("id", "in", due)
    .returning(["id", "key", "kind", "vm_id", "to_address", "subject", "text_body", "html_body", "attempts", "created_at"])
    .execute();
  return rows
    .map((r) => ({
      id: Number(r.id),
      key: r.key,
      kind: r.kind,
      vmId: r.vm_id,
      to: r.to_address,
      subject: r.subject,
      text: r.text_body,
      html: r.html_body,
      attempts: r.attempts,
      createdAt: r.created_at,
      claim,
    }))
    .sort((a, b) => a.id - b.id);
}

/** The SMTP server took `mail`: sent, once and for all. False when the claim had lapsed and another sender took it. */
export async function recordSent(tx: DbOrTx, mail: ClaimedMail, now: Date): Promise<boolean> {
  const done = await tx
    .updateTable("mail_outbox")
    .set({ state: "sent", attempts: mail.attempts + 1, sent_at: now.toISOString() })
    .where("id", "=", mail.id)
    .where("state", "=", "queued")
    .where("next_attempt_at", "=", mail.claim)
    .executeTakeFirst();
  return Number(done.numUpdatedRows) > 0;
}

/**
 * A try that failed: counted, with its error in words; the mail waits until `retryAt`, or is `failed`
 * for good when `retryAt` is null. False when the claim had lapsed.
 */
export async function recordFailure(tx: DbOrTx, mail: ClaimedMail, error: string, retryAt: Date | null): Promise<boolean> {
  const done = await tx
    .updateTable("mail_outbox")
    .set({
      state: retryAt === null ? "failed" : "queued",
      attempts: mail.attempts + 1,
      last_error: error,
      next_attempt_at: (retryAt ?? new Date(mail.claim)).toISOString(),
    })
    .where("id", "=", mail.id)
    .where("state", "=", "queued")
    .where("next_attempt_at", "=", mail.claim)
    .executeTakeFirst();
  return Number(done.numUpdatedRows) > 0;
}

/** Gives back claimed mails not tried (the sender stops): due again at `now`, for whichever sender comes next. */
export async function releaseClaims(tx: DbOrTx, mails: ClaimedMail[], now: Date): Promise<void> {
  for (const mail of mails) {
    await tx
      .updateTable("mail_outbox")
      .set({ next_attempt_at: now.toISOString() })
      .where("id", "=", mail.id)
      .where("state", "=", "queued")
      .where("next_attempt_at", "=", mail.claim)
      .execute();
  }
}

export interface OutboxFilter {
  state?: MailState | undefined;
  kind?: string | undefined;
  vmId?: string | undefined;
}

/** A page of the outbox, newest first; each filter is read from its index (state, kind or VM, then id). */
export async function listOutbox(db: DbOrTx, filter: OutboxFilter, page: Page): Promise<OutboxEntry[]> {
  let q = db
    .selectFrom("mail_outbox")
    .select(["id", "to_address", "subject", "kind", "vm_id", "state", "attempts", "last_error", "created_at", "sent_at"]);
  if (filter.state !== undefined) q = q.where("state", "=", filter.state);
  if (filter.kind !== undefined) q = q.where("kind", "=", filter.kind);
  if (filter.vmId !== undefined) q = q.where("vm_id", "=", filter.vmId);
  const after = afterId(page);
  if (after !== undefined) q = q.where("id", "<", after);
  const rows = await q.orderBy("id", "desc").limit(page.limit + 1).execute();
  return rows.map((r) => ({
    id: String(r.id),
    to: r.to_address,
    subject: r.subject,
    kind: r.kind as MailKind,
    vmId: r.vm_id,
    state: r.state as MailState,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  }));
}

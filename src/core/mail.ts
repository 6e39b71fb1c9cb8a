// The words of vgrid's mail that clients see too: each mail's kind (in /outbox and in its X-Vgrid-Kind
// header) and the states of the outbox (API.md, Policies and mail).

/** The kinds of mail, in /outbox and in each mail's X-Vgrid-Kind header. */
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

/** queued: waiting to be sent, or to be tried again after a failure; sent; failed: given up, with the reason. */
export const MAIL_STATES = ["queued", "sent", "failed"] as const;
export type MailState = (typeof MAIL_STATES)[number];

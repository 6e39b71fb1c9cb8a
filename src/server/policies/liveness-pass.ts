// The liveness policy's part of a pass: a running VM that has not answered for [liveness] mailAfter
// gets one not-responding mail (its owner's, and the admins' when notifyAdmins), and one
// responding-again mail when it answers again. Never for a VM that is not running (stopped by its
// owner, pending, expired) nor for one on an offline node (that is the node-offline mail's matter).
// Each decision is one transaction with its mails; the VMs read are the silent ones and the mailed
// ones, each from a partial index of its own.

import type { ServerContext } from "../context.js";
import type { DbOrTx } from "../store/db.js";
import { enqueueMail } from "../store/outbox.js";
import { lockLiveness, setSilenceMailed, vmsSilenceMailed, vmsSilentSince, type SilentVm } from "../store/policy-vms.js";
import { notRespondingMails, respondingAgainMails } from "./mails.js";

const BATCH = 500;

/** VM facts for a mail; a liveness mail names no image. */
type MailedVm = Omit<SilentVm, "lastSeenAt">;

export async function runLivenessPass(ctx: ServerContext, now: Date): Promise<{ notResponding: number; respondingAgain: number }> {
  const before = new Date(now.getTime() - ctx.config.liveness.mailAfterSeconds * 1000);
  let notResponding = 0;
  let respondingAgain = 0;
  const silent = await vmsSilentSince(ctx.db, before, BATCH);
  const mailed = await Promise.all(silent.map((vm) => ctx.writes.run((tx) => mailSilence(ctx, tx, vm, before, now))));
  notResponding += mailed.filter(Boolean).length;
  const watched = await vmsSilenceMailed(ctx.db, BATCH);
  const recovered = await Promise.all(
    watched.map((row) => ctx.writes.run((tx) => settleSilence(ctx, tx, { id: row.id, name: row.name, owner: row.owner, host: row.host }, now))),
  );
  respondingAgain += recovered.filter(Boolean).length;
  return { notResponding, respondingAgain };
}

/** Mails that the VM stopped answering, unless it answered or stopped running meanwhile (checked on the locked row). */
async function mailSilence(ctx: ServerContext, tx: DbOrTx, vm: SilentVm, before: Date, now: Date): Promise<boolean> {
  const row = await lockLiveness(tx, vm.id);
  if (!row || row.state !== "running" || row.responding !== 0 || row.online !== 1 || row.silence_mailed !== null) return false;
  if (row.last_seen_at === null || row.last_seen_at > before.toISOString()) return false;
  await setSilenceMailed(tx, vm.id, row.last_seen_at);
  for (const mail of notRespondingMails(ctx, { ...vm, image: "" }, row.last_seen_at, now)) await enqueueMail(tx, mail, now);
  return true;
}

/**
 * A VM mailed as not responding: answering again (running, responding, on an online node), it gets the
 * responding-again mail; no longer running (terminated, expired, stopped), the matter is closed without
 * a mail; still silent, or its node offline, it waits.
 */
async function settleSilence(ctx: ServerContext, tx: DbOrTx, vm: MailedVm, now: Date): Promise<boolean> {
  const row = await lockLiveness(tx, vm.id);
  if (!row || row.silence_mailed === null) return false;
  if (row.state !== "running") {
    await setSilenceMailed(tx, vm.id, null);
    return false;
  }
  if (row.responding !== 1 || row.online !== 1) return false;
  await setSilenceMailed(tx, vm.id, null);
  for (const mail of respondingAgainMails(ctx, { ...vm, image: "" }, row.silence_mailed)) await enqueueMail(tx, mail, now);
  return true;
}

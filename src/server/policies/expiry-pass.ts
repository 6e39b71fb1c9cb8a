// The expiry policy's part of a pass: for each VM whose policy time has come (its next warning, its
// expiry, the end of its grace), one decision with its mail, in the same transaction (DESIGN.md): a
// crash leaves each decision made with its mail or not at all, and running the pass again (or on two
// replicas at once) finds nothing more to do, since every decision moves the VM's policy time on, is
// re-checked on the locked row, and every mail is once per key. Only the VMs due are read, from the
// index vms_policy_due.

import { expiryStep } from "../../core/expiry.js";
import { lifetimeLimits } from "../../core/image.js";
import type { VmState } from "../../core/vm-state.js";
import type { ServerContext } from "../context.js";
import { insertAudits, type AuditEntry } from "../store/audit.js";
import type { DbOrTx } from "../store/db.js";
import { insertExtendLinks, newExtendLink, type NewExtendLink } from "../store/extend-links.js";
import { bumpDesiredVersion } from "../store/hosts.js";
import { imageLifetime } from "../store/images.js";
import { enqueueMails, type OutgoingMail } from "../store/outbox.js";
import { lockPolicyVms, setPolicyTimes, vmsPolicyDue, type PolicyVm } from "../store/policy-vms.js";
import { recordHistory, type VmHistoryEntry } from "../store/vm-history.js";
import { askTermination, findVms, setExpiry } from "../store/vms.js";
import { expiredMail, terminatedMail, utc, warningMail, type Extension } from "./mails.js";
import { stopForGrace } from "./grace.js";

/** Who the expiry policy is, in terminatedBy, the audit log and the VMs' histories. */
export const EXPIRY_POLICY = "policy:expiry";

/** The states the policy expires a VM from (a terminating VM is on its way out already). */
const EXPIRABLE: readonly VmState[] = ["pending", "provisioning", "running", "failed"];

/** VMs read per query. */
const BATCH = 1000;
/**
 * Decisions per transaction. Their rows are locked with one statement, their mails, links, audit rows
 * and history steps written with one statement each, and each host's desired version bumped once at
 * the end: a transaction per decision would cost a dozen round trips each, and take the host row's
 * lock once per VM, one after the other on PostgreSQL. Chunks run side by side.
 */
const CHUNK = 100;

export interface ExpiryOutcome {
  warned: number;
  expired: number;
  terminated: number;
}

type Decision = { kind: keyof ExpiryOutcome | "none"; vmId: string; host?: string };

/** What a chunk's decisions write besides their VMs' rows, all at the end of its transaction. */
interface Writes {
  mails: OutgoingMail[];
  links: NewExtendLink[];
  audits: AuditEntry[];
  history: VmHistoryEntry[];
}

/** One pass of the expiry policy at `now`: what it did, counted. */
export async function runExpiryPass(ctx: ServerContext, now: Date): Promise<ExpiryOutcome> {
  const outcome: ExpiryOutcome = { warned: 0, expired: 0, terminated: 0 };
  const seen = new Set<string>();
  for (;;) {
    // A decision that failed leaves its VM due: it is tried at the next pass, not again in this one.
    const ids = (await vmsPolicyDue(ctx.db, now, BATCH + seen.size)).filter((id) => !seen.has(id));
    if (ids.length === 0) break;
    for (const id of ids) seen.add(id);
    const chunks = Array.from({ length: Math.ceil(ids.length / CHUNK) }, (_, i) => ids.slice(i * CHUNK, (i + 1) * CHUNK));
    const decisions = (await Promise.all(chunks.map((chunk) => decideChunk(ctx, chunk, now)))).flat();
    for (const d of decisions) outcome[d.kind as keyof ExpiryOutcome]++;
    for (const host of hostsOf(decisions)) ctx.hub.notifyHost(host);
    const moved = decisions.filter((d) => d.kind !== "warned").map((d) => d.vmId);
    if (moved.length > 0) for (const vm of await findVms(ctx.db, moved)) ctx.hub.publishVm(vm);
    if (ids.length < BATCH) break;
  }
  return outcome;
}

const hostsOf = (decisions: readonly Decision[]) => new Set(decisions.flatMap((d) => (d.host === undefined ? [] : [d.host])));

/**
 * The decisions for `ids` in one transaction. If it fails, each VM of the chunk is decided again in a
 * transaction of its own, so that one VM that cannot be decided holds up no other.
 */
async function decideChunk(ctx: ServerContext, ids: readonly string[], now: Date): Promise<Decision[]> {
  try {
    return await ctx.writes.run((tx) => decideAll(ctx, tx, ids, now));
  } catch (err) {
    if (ids.length === 1) {
      ctx.log.error({ vm: ids[0], err: String(err) }, "the expiry policy could not decide for a VM; it tries again at the next pass");
      return [];
    }
    const one = await Promise.all(ids.map((id) => decideChunk(ctx, [id], now)));
    return one.flat();
  }
}

async function decideAll(ctx: ServerContext, tx: DbOrTx, ids: readonly string[], now: Date): Promise<Decision[]> {
  const writes: Writes = { mails: [], links: [], audits: [], history: [] };
  const made: Decision[] = [];
  for (const vm of await lockPolicyVms(tx, ids)) {
    const d = await decide(ctx, tx, vm, now, writes);
    if (d.kind !== "none") made.push(d);
  }
  await insertExtendLinks(tx, writes.links);
  await enqueueMails(tx, writes.mails, now);
  await insertAudits(tx, writes.audits);
  await recordHistory(tx, writes.history);
  for (const host of hostsOf(made)) await bumpDesiredVersion(tx, host);
  return made;
}

/** The decision for one VM, on its locked row: nothing if another pass made it first. */
async function decide(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, now: Date, writes: Writes): Promise<Decision> {
  const none: Decision = { kind: "none", vmId: vm.id };
  if (vm.policyAt === null || vm.policyAt > now.toISOString()) return none;
  if (vm.expiresAt === null || !(EXPIRABLE.includes(vm.state) || vm.state === "expired")) {
    await setPolicyTimes(tx, vm.id, { policyAt: null });
    return none;
  }
  // In its grace period: its policy time is the grace's end.
  if (vm.state === "expired") {
    return terminate(ctx, tx, vm, now, writes, `expired at ${utc(vm.expiresAt)} and was kept stopped until ${utc(vm.policyAt)}`, ["expired"]);
  }
  const step = expiryStep({
    expiresAt: new Date(vm.expiresAt),
    policyAt: new Date(vm.policyAt),
    warnedExpiresAt: vm.warnedExpiresAt === null ? null : new Date(vm.warnedExpiresAt),
    now,
    warningsSeconds: ctx.config.expiry.warningsSeconds,
  });
  switch (step.kind) {
    case "wait":
      await setPolicyTimes(tx, vm.id, { policyAt: step.next });
      return none;
    case "warn": {
      if (step.late) {
        // Its warning could not go out in time (the server was down): it lives until what the mail says.
        await setExpiry(tx, vm.id, step.expiresAt.toISOString(), now);
        writes.history.push({ vmId: vm.id, at: now, state: vm.state, by: EXPIRY_POLICY, detail: `expiry moved to ${step.expiresAt.toISOString()}: its warning could not be sent in time` });
      }
      const extension = await extensionLink(ctx, tx, vm, step.expiresAt, now, writes);
      writes.mails.push(warningMail(ctx, vm, { seconds: step.seconds, expiresAt: step.expiresAt, now, extension }));
      await setPolicyTimes(tx, vm.id, { policyAt: step.next, warnedExpiresAt: step.expiresAt });
      return { kind: "warned", vmId: vm.id };
    }
    case "expire": {
      const expiredAt = new Date(Math.max(Date.parse(vm.expiresAt), vm.warnedExpiresAt === null ? 0 : Date.parse(vm.warnedExpiresAt)));
      const { graceHours } = ctx.config.expiry;
      if (graceHours === 0) return terminate(ctx, tx, vm, now, writes, `expired at ${utc(expiredAt)}`, EXPIRABLE);
      return expire(ctx, tx, vm, now, writes, expiredAt, graceHours);
    }
  }
}

/** An extend link for the VM's expiry `expiresAt` (written with the chunk), and what pressing it adds. */
async function extensionLink(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, expiresAt: Date, now: Date, writes: Writes): Promise<Extension> {
  const image = ctx.config.images.find((i) => i.tag === vm.image) ?? (await imageLifetime(tx, vm.image));
  const link = await newExtendLink(tx, vm.id, expiresAt, now);
  writes.links.push(link.row);
  return { token: link.secret, hours: lifetimeLimits(image, ctx.config.expiry).defaultHours };
}

/**
 * Through the normal path (the node deletes its disks: its host's desired version is bumped at the end
 * of the chunk), by the policy, with the owner's last mail.
 */
async function terminate(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, now: Date, writes: Writes, reason: string, from: readonly VmState[]): Promise<Decision> {
  if (!(await askTermination(tx, vm.id, from, { by: EXPIRY_POLICY, reason }, now))) {
    await setPolicyTimes(tx, vm.id, { policyAt: null });
    return { kind: "none", vmId: vm.id };
  }
  writes.audits.push({ at: now, actor: EXPIRY_POLICY, action: "vm.terminate", target: vm.id, address: null, detail: reason });
  writes.history.push({ vmId: vm.id, at: now, state: "terminating", by: EXPIRY_POLICY, detail: reason });
  writes.mails.push(terminatedMail(ctx, vm, reason));
  return { kind: "terminated", host: vm.host, vmId: vm.id };
}

/** Stopped for the grace period, its disk kept; terminated at the grace's end unless extended. */
async function expire(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, now: Date, writes: Writes, expiredAt: Date, graceHours: number): Promise<Decision> {
  if (!(await stopForGrace(tx, vm.id, vm.host, now))) return { kind: "none", vmId: vm.id };
  const graceEnd = new Date(now.getTime() + graceHours * 3600_000);
  await setPolicyTimes(tx, vm.id, { policyAt: graceEnd });
  const detail = `expired at ${utc(expiredAt)}: stopped, its disk kept until ${utc(graceEnd)}`;
  writes.audits.push({ at: now, actor: EXPIRY_POLICY, action: "vm.expire", target: vm.id, address: null, detail });
  writes.history.push({ vmId: vm.id, at: now, state: "expired", by: EXPIRY_POLICY, detail });
  // The link extends the expiry the VM still has: pressed in the grace period, it starts the VM again.
  const extension = await extensionLink(ctx, tx, vm, new Date(vm.expiresAt!), now, writes);
  writes.mails.push(expiredMail(ctx, vm, { expiredAt, graceEnd, now, extension }));
  return { kind: "expired", host: vm.host, vmId: vm.id };
}

// The expiry policy's part of a pass: for each VM whose policy time has come (its next warning, its
// expiry, the end of its grace), one decision in one transaction with its mail (DESIGN.md): a crash
// leaves each decision made with its mail or not at all, and running the pass again (or on two
// replicas at once) finds nothing more to do, since every decision moves the VM's policy time on and
// every mail is once per key. Only the VMs due are read, from the index vms_policy_due.

import { expiryStep } from "../../core/expiry.js";
import { lifetimeLimits } from "../../core/image.js";
import type { VmState } from "../../core/vm-state.js";
import type { ServerContext } from "../context.js";
import { insertAudit } from "../store/audit.js";
import type { DbOrTx } from "../store/db.js";
import { createExtendLink } from "../store/extend-links.js";
import { bumpDesiredVersion } from "../store/hosts.js";
import { imageLifetime } from "../store/images.js";
import { enqueueMail } from "../store/outbox.js";
import { lockPolicyVm, setPolicyTimes, vmsPolicyDue, type PolicyVm } from "../store/policy-vms.js";
import { recordHistory } from "../store/vm-history.js";
import { askTermination, findVm, setExpiry } from "../store/vms.js";
import { expiredMail, terminatedMail, utc, warningMail, type Extension } from "./mails.js";
import { stopForGrace } from "./power-stand-in.js";

/** Who the expiry policy is, in terminatedBy, the audit log and the VMs' histories. */
export const EXPIRY_POLICY = "policy:expiry";

/** The states the policy expires a VM from (a terminating VM is on its way out already). */
const EXPIRABLE: readonly VmState[] = ["pending", "provisioning", "running", "failed"];

/** VMs read per query, and decided at once (on SQLite, grouped into shared commits). */
const BATCH = 500;

export interface ExpiryOutcome {
  warned: number;
  expired: number;
  terminated: number;
}

type Decision = { kind: keyof ExpiryOutcome | "none"; host?: string; vmId: string };

/** One pass of the expiry policy at `now`: what it did, counted. */
export async function runExpiryPass(ctx: ServerContext, now: Date): Promise<ExpiryOutcome> {
  const outcome: ExpiryOutcome = { warned: 0, expired: 0, terminated: 0 };
  const seen = new Set<string>();
  for (;;) {
    // A decision that failed leaves its VM due: it is tried at the next pass, not again in this one.
    const ids = (await vmsPolicyDue(ctx.db, now, BATCH + seen.size)).filter((id) => !seen.has(id));
    if (ids.length === 0) break;
    for (const id of ids) seen.add(id);
    const decisions = await Promise.allSettled(ids.map((id) => ctx.writes.run((tx) => decide(ctx, tx, id, now))));
    for (const [i, d] of decisions.entries()) {
      if (d.status === "rejected") {
        ctx.log.error({ vm: ids[i], err: String(d.reason) }, "the expiry policy could not decide for a VM; it tries again at the next pass");
        continue;
      }
      if (d.value.kind === "none") continue;
      outcome[d.value.kind]++;
      if (d.value.host !== undefined) ctx.hub.notifyHost(d.value.host);
    }
    await publish(ctx, decisions.flatMap((d) => (d.status === "fulfilled" && d.value.kind !== "none" && d.value.kind !== "warned" ? [d.value.vmId] : [])));
    if (ids.length < BATCH) break;
  }
  return outcome;
}

async function publish(ctx: ServerContext, ids: string[]): Promise<void> {
  for (const id of ids) {
    const vm = await findVm(ctx.db, id);
    if (vm) ctx.hub.publishVm(vm);
  }
}

/** The decision for one VM, on its locked row: nothing if another pass made it first. */
async function decide(ctx: ServerContext, tx: DbOrTx, id: string, now: Date): Promise<Decision> {
  const vm = await lockPolicyVm(tx, id);
  const none: Decision = { kind: "none", vmId: id };
  if (vm === undefined || vm.policyAt === null || vm.policyAt > now.toISOString()) return none;
  if (vm.expiresAt === null || !(EXPIRABLE.includes(vm.state) || vm.state === "expired")) {
    await setPolicyTimes(tx, id, { policyAt: null });
    return none;
  }
  // In its grace period: its policy time is the grace's end.
  if (vm.state === "expired") return terminate(ctx, tx, vm, now, `expired at ${utc(vm.expiresAt)} and was kept stopped until ${utc(vm.policyAt)}`, ["expired"]);
  const step = expiryStep({
    expiresAt: new Date(vm.expiresAt),
    policyAt: new Date(vm.policyAt),
    warnedExpiresAt: vm.warnedExpiresAt === null ? null : new Date(vm.warnedExpiresAt),
    now,
    warningsSeconds: ctx.config.expiry.warningsSeconds,
  });
  switch (step.kind) {
    case "wait":
      await setPolicyTimes(tx, id, { policyAt: step.next });
      return none;
    case "warn": {
      if (step.late) {
        // Its warning could not go out in time (the server was down): it lives until what the mail says.
        await setExpiry(tx, id, step.expiresAt.toISOString(), now);
        await recordHistory(tx, [{ vmId: id, at: now, state: vm.state, by: EXPIRY_POLICY, detail: `expiry moved to ${step.expiresAt.toISOString()}: its warning could not be sent in time` }]);
      }
      const extension = await extensionLink(ctx, tx, vm, step.expiresAt, now);
      await enqueueMail(tx, warningMail(ctx, vm, { seconds: step.seconds, expiresAt: step.expiresAt, now, extension }), now);
      await setPolicyTimes(tx, id, { policyAt: step.next, warnedExpiresAt: step.expiresAt });
      return { kind: "warned", vmId: id };
    }
    case "expire": {
      const expiredAt = new Date(Math.max(Date.parse(vm.expiresAt), vm.warnedExpiresAt === null ? 0 : Date.parse(vm.warnedExpiresAt)));
      const { graceHours } = ctx.config.expiry;
      if (graceHours === 0) return terminate(ctx, tx, vm, now, `expired at ${utc(expiredAt)}`, EXPIRABLE);
      return expire(ctx, tx, vm, now, expiredAt, graceHours);
    }
  }
}

/** An extend link for the VM's expiry `expiresAt`, and what pressing it adds. */
async function extensionLink(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, expiresAt: Date, now: Date): Promise<Extension> {
  const image = ctx.config.images.find((i) => i.tag === vm.image) ?? (await imageLifetime(tx, vm.image));
  return { token: await createExtendLink(tx, vm.id, expiresAt, now), hours: lifetimeLimits(image, ctx.config.expiry).defaultHours };
}

/** Through the normal path (the node deletes its disks), by the policy, with the owner's last mail. */
async function terminate(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, now: Date, reason: string, from: readonly VmState[]): Promise<Decision> {
  if (!(await askTermination(tx, vm.id, from, { by: EXPIRY_POLICY, reason }, now))) {
    await setPolicyTimes(tx, vm.id, { policyAt: null });
    return { kind: "none", vmId: vm.id };
  }
  await bumpDesiredVersion(tx, vm.host);
  await insertAudit(tx, { at: now, actor: EXPIRY_POLICY, action: "vm.terminate", target: vm.id, address: null, detail: reason });
  await recordHistory(tx, [{ vmId: vm.id, at: now, state: "terminating", by: EXPIRY_POLICY, detail: reason }]);
  await enqueueMail(tx, terminatedMail(ctx, vm, reason), now);
  return { kind: "terminated", host: vm.host, vmId: vm.id };
}

/** Stopped for the grace period, its disk kept; terminated at the grace's end unless extended. */
async function expire(ctx: ServerContext, tx: DbOrTx, vm: PolicyVm, now: Date, expiredAt: Date, graceHours: number): Promise<Decision> {
  if (!(await stopForGrace(tx, vm.id, vm.host, now))) return { kind: "none", vmId: vm.id };
  const graceEnd = new Date(now.getTime() + graceHours * 3600_000);
  await setPolicyTimes(tx, vm.id, { policyAt: graceEnd });
  const detail = `expired at ${utc(expiredAt)}: stopped, its disk kept until ${utc(graceEnd)}`;
  await insertAudit(tx, { at: now, actor: EXPIRY_POLICY, action: "vm.expire", target: vm.id, address: null, detail });
  await recordHistory(tx, [{ vmId: vm.id, at: now, state: "expired", by: EXPIRY_POLICY, detail }]);
  // The link extends the expiry the VM still has: pressed in the grace period, it starts the VM again.
  const extension = await extensionLink(ctx, tx, vm, new Date(vm.expiresAt!), now);
  await enqueueMail(tx, expiredMail(ctx, vm, { expiredAt, graceEnd, now, extension }), now);
  return { kind: "expired", host: vm.host, vmId: vm.id };
}

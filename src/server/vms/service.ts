// The VM service: every change to a VM (deploy, terminate, extend, and later the policies' and admins'
// actions) goes through here. Each one runs in ONE transaction with its audit row; only once it has
// committed are the host's node woken and the change published to event streams.

import { randomUUID } from "node:crypto";
import type { DeployRequest, PageRequest, TerminateRequest, Vm, VmHistoryEntry, VmListQuery } from "../../core/api.js";
import { Conflict, Forbidden, Invalid, NotFound, Unavailable, VgridError } from "../../core/errors.js";
import { isVmId } from "../../core/names.js";
import { parseSshPublicKeys } from "../../core/ssh-keys.js";
import type { ImageEntry } from "../../core/image.js";
import { extendedExpiry, firstPolicyAt } from "../../core/expiry.js";
import { lifetimeLimits } from "../../core/image.js";
import { adminTerminatedMail } from "../policies/mails.js";
import { startAfterGrace } from "../policies/grace.js";
import { findExtendLink, useExtendLink } from "../store/extend-links.js";
import { enqueueMail } from "../store/outbox.js";
import { setPolicyTimes } from "../store/policy-vms.js";
import { canExtend, canMove, HOLDING_STATES, isFinal, type VmState } from "../../core/vm-state.js";
import type { ServerContext } from "../context.js";
import { couldEverFit, type HostLoad } from "../scheduler/placement.js";
import { insertAudit } from "../store/audit.js";
import { listHistory, recordHistory } from "../store/vm-history.js";
import type { DbOrTx } from "../store/db.js";
import { takeFreeHostname } from "../store/hostnames.js";
import { anyHostOnline, bumpDesiredVersion, takeSlot } from "../store/hosts.js";
import { deployableImages, findDeployableImage, imageLifetime } from "../store/images.js";
import { findUser, lockUser, type User } from "../store/users.js";
import { answerPage, pageOf } from "../pages.js";
import { fetchRepositoryKeys } from "../users/key-repository.js";
import { hasAnyLimit, quotaFor, quotaProblem } from "../users/quota.js";
import type { NewVm, VmRow } from "../store/schema.js";
import { holdingUse, findVm, insertVm, listVms, lockVm, askTermination, setExpiry, toVm, vmPageKey } from "../store/vms.js";
import { readLog } from "../store/vm-logs.js";
import { logText } from "./boot-log.js";

/** Who asks, from where (for the audit log), and in which request (for the logs). */
export interface Actor {
  user: User;
  address: string | null;
  requestId?: string;
}

/** The vm object as `user` may see it: what the node saw (`errorDetail`) is for admins only. */
export function viewFor(user: User, vm: Vm): Vm {
  if (user.admin) return vm;
  const { errorDetail: _hidden, ...rest } = vm;
  return rest;
}

/** The VM if the user may see it: another user's VM is a 404 for a non-admin, like a missing one. */
export async function showVm(ctx: ServerContext, user: User, id: string): Promise<Vm> {
  return viewFor(user, await visibleVm(ctx.db, user, id));
}

/** The VM's story, oldest first, for its owner and admins: another user's VM is a 404, as for showVm. */
export async function vmHistory(ctx: ServerContext, user: User, id: string, query: PageRequest): Promise<{ items: VmHistoryEntry[]; next?: string }> {
  const vm = await visibleVm(ctx.db, user, id);
  const page = pageOf(query, 1);
  const { items, next } = answerPage(await listHistory(ctx.db, vm.id, page), page, (e) => [String(e.id)]);
  return { items: items.map(({ id: _id, ...entry }) => entry), ...(next === undefined ? {} : { next }) };
}

/** The VM's boot log, for whoever may see the VM: another user's VM is a 404 here too; a terminated one's log stays. */
export async function showVmLog(ctx: ServerContext, user: User, id: string): Promise<string> {
  await visibleVm(ctx.db, user, id);
  const { bytes, trimmed } = await readLog(ctx.db, id);
  return logText(bytes, trimmed);
}

/**
 * A page of the caller's VMs; an admin's `all=true`: everyone's, filtered by owner if asked. Terminated
 * ones only with `state=terminated`.
 */
export async function listVisibleVms(ctx: ServerContext, user: User, query: VmListQuery): Promise<{ items: Vm[]; next?: string }> {
  const all = query.all === "true" && user.admin;
  const page = pageOf(query, 2);
  const filter = { owner: all ? query.owner : user.name, host: query.host, image: query.image, state: query.state };
  const answer = answerPage(await listVms(ctx.db, filter, page), page, vmPageKey);
  return { ...answer, items: answer.items.map((vm) => viewFor(user, vm)) };
}

/** Validates the request, then places the VM, takes a hostname and stores it as pending, all at once. */
export async function deployVm(ctx: ServerContext, actor: Actor, request: DeployRequest): Promise<Vm> {
  const stopTimer = ctx.metrics.deployDuration.startTimer();
  try {
    const vm = await deployVmNow(ctx, actor, request);
    stopTimer();
    return vm;
  } catch (err) {
    if (err instanceof VgridError && PLACEMENT_FAILURES.has(err.slug)) ctx.metrics.placementFailures.inc({ reason: err.slug });
    throw err;
  }
}

/** The refusals that say the cluster had no room, as the metrics count them. */
const PLACEMENT_FAILURES = new Set<string>(["no-capacity", "pool-exhausted", "quota-exceeded", "no-node"]);

async function deployVmNow(ctx: ServerContext, actor: Actor, request: DeployRequest): Promise<Vm> {
  const { user } = actor;
  // The catalog's own images are server.toml's (the config is the truth): no query for them.
  const image = catalogImage(ctx, request.image) ?? (await findDeployableImage(ctx.db, request.image, user.name));
  if (!image) {
    const known = (await deployableImages(ctx.db, user.name)).map((i) => i.tag);
    throw new Invalid("image", `image '${request.image}' is not in the catalog; known images: ${known.join(", ") || "none"}`);
  }
  const memoryMiB = request.memoryMiB ?? image.defaultMemoryMiB;
  if (memoryMiB < image.minMemoryMiB || memoryMiB > image.maxMemoryMiB) {
    throw new Invalid(
      "memoryMiB",
      `memoryMiB ${memoryMiB} is outside what image '${image.tag}' allows: ${image.minMemoryMiB} to ${image.maxMemoryMiB}`,
    );
  }
  const cpus = request.cpus ?? 1;
  if (cpus > image.maxCpus) {
    throw new Invalid("cpus", `cpus ${cpus} is more than image '${image.tag}' allows: at most ${image.maxCpus}`);
  }
  const limits = lifetimeLimits(image, ctx.config.expiry);
  const hours = request.hours ?? limits.defaultHours;
  if (hours > limits.maxHours) {
    throw new Invalid("hours", `hours ${hours} is more than the policy allows${limitSource(image, ctx)}: at most ${limits.maxHours}`);
  }
  let sshKeys = request.sshKeys === undefined ? user.sshKeys : parseSshPublicKeys(request.sshKeys);
  // The seed's copyuserkey: a user with no key of their own gets those of the lab's key repository.
  if (sshKeys.length === 0 && request.sshKeys === undefined && ctx.config.keys) sshKeys = await fetchRepositoryKeys(ctx.config.keys, user.name);
  if (sshKeys.length === 0) {
    throw new Invalid(
      "sshKeys",
      `you have no ssh key${ctx.config.keys ? " (nor has the lab's key repository one for you)" : ""}, so nobody could log in to the VM: add one with PUT /api/v1/me/ssh-keys or pass sshKeys`,
    );
  }
  const size = { memoryMiB, cpus };
  const id = randomUUID();

  // The pool is server.toml's: whether a size could ever fit is known without the store.
  if (!couldEverFit(catalogOf(ctx).pool, size)) {
    throw new Invalid("memoryMiB", `no host of the pool could ever fit ${memoryMiB} MiB and ${cpus} cpus`);
  }

  return change(ctx, actor, "vm.deploy", async (tx, now) => {
    await checkQuota(tx, ctx, user, size);
    const options = loadOptions(ctx, now);
    const host = await takeSlot(tx, size, options);
    if (host === undefined) {
      if (!(await anyHostOnline(tx, options))) {
        throw new Unavailable("no node is online to run the VM; start a node (vgrid node) or wait for it to connect");
      }
      throw new Conflict("no-capacity", `no online host has room for ${memoryMiB} MiB and ${cpus} cpus now; try again once a VM is terminated`);
    }
    const hostname = await takeFreeHostname(tx, id);
    if (!hostname) {
      throw new Conflict("pool-exhausted", "every hostname of the pool is in use; try again once a VM is terminated");
    }
    const at = now.toISOString();
    const expiresAt = new Date(now.getTime() + hours * 3600_000);
    const row: NewVm & VmRow = {
      id,
      name: hostname.name,
      owner: user.name,
      image: image.tag,
      host,
      state: "pending",
      responding: 0,
      last_seen_at: null,
      memory_mib: memoryMiB,
      cpus,
      created_at: at,
      expires_at: expiresAt.toISOString(),
      ssh_port: null,
      ip: null,
      mac: hostname.mac,
      error: null,
      error_detail: null,
      ssh_host_keys: null,
      ssh_keys: JSON.stringify(sshKeys),
      updated_at: at,
      request_id: actor.requestId ?? null,
      terminated_by: null,
      termination_reason: null,
      node_state: null,
      crash_restart: null,
      force_stop: 0,
      reboot_asked: 0,
      reboot_done: 0,
      reboot_force: 0,
      policy_at: firstPolicyAt(expiresAt, now, ctx.config.expiry.warningsSeconds).toISOString(),
      warned_expires_at: null,
      silence_mailed: null,
    };
    await insertVm(tx, row);
    // takeSlot told the host's node already (its desired version); a pending VM has no ssh yet.
    const step = { state: "pending" as const, detail: `${image.tag}, ${memoryMiB} MiB, ${cpus} cpu${cpus === 1 ? "" : "s"}, on ${host}` };
    return { vmId: id, host, vm: toVm(row, null), step };
  });
}

/**
 * Marks the VM terminating, with who asked and why; the hostname is released only once its node
 * confirms. Idempotent: asked again, it stays as the first asker left it. An admin terminating another
 * user's VM says why (`reason`): its owner reads it.
 */
export async function terminateVm(ctx: ServerContext, actor: Actor, id: string, request: TerminateRequest | null): Promise<Vm> {
  const vm = await visibleVm(ctx.db, actor.user, id);
  const reason = reasonOf(request?.reason);
  if (isFinal(vm.state)) throw new Conflict("wrong-state", `VM ${vm.name} is already ${vm.state}`);
  if (!canMove(vm.state, "terminating")) return viewFor(actor.user, vm);
  if (reason === null && vm.owner !== actor.user.name) {
    throw new Invalid(
      "reason",
      `VM ${vm.name} is ${vm.owner}'s: say why you terminate it in reason, which they read (e.g. {"reason": "host hv1 is being retired"})`,
    );
  }
  return change(ctx, actor, "vm.terminate", async (tx, now) => {
    // Guarded by the states it may leave: a VM its node just confirmed gone is not brought back.
    const from = HOLDING_STATES.filter((s) => canMove(s, "terminating"));
    if (!(await askTermination(tx, vm.id, from, { by: actor.user.name, reason }, now))) return { vmId: vm.id, auditDetail: reason };
    await bumpDesiredVersion(tx, vm.host);
    // Someone else's VM (an admin's termination): its owner reads who did it and why.
    if (vm.owner !== actor.user.name && reason !== null) await enqueueMail(tx, adminTerminatedMail(ctx, vm, actor.user.name, reason, now), now);
    return { vmId: vm.id, host: vm.host, step: { state: "terminating", detail: reason }, auditDetail: reason };
  });
}

// C0 and C1 controls, line breaks among them: a reason is one line, shown as it is in pages and terminals.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** A termination's reason as it is kept: trimmed, one line; null when none was given. */
function reasonOf(given: string | undefined): string | null {
  if (given === undefined) return null;
  const reason = given.trim();
  if (reason === "") throw new Invalid("reason", "reason is blank: say in a few words why the VM is terminated, or leave reason out");
  if (CONTROL_CHARACTERS.test(reason)) {
    throw new Invalid("reason", "reason must be one line of text, without line breaks or control characters");
  }
  return reason;
}

/**
 * Adds `hours` to the later of the VM's expiry and now (extending never shortens a life), at most to
 * maxHours from now (the image's or [expiry]'s, the smaller); a VM that never expires is left so; an
 * expired VM (in its grace period) starts again. Worked out on the locked row, so that two extends at
 * once both count.
 */
export async function extendVm(ctx: ServerContext, actor: Actor, id: string, hours: number): Promise<Vm> {
  const vm = await visibleVm(ctx.db, actor.user, id);
  requireExtendable(vm.name, vm.state);
  if (vm.expiresAt === null) return viewFor(actor.user, vm);
  const image = catalogImage(ctx, vm.image) ?? (await imageLifetime(ctx.db, vm.image));
  return change(ctx, actor, "vm.extend", async (tx, now) => {
    const life = await lockVm(tx, vm.id);
    if (life === undefined) throw new NotFound(`no VM with id '${id}' is yours`);
    requireExtendable(vm.name, life.state);
    if (life.expiresAt === null) return { vmId: vm.id };
    const { maxHours } = lifetimeLimits(image, ctx.config.expiry);
    const extension = extendedExpiry(new Date(life.expiresAt), now, hours, maxHours);
    if ("mostHours" in extension) {
      throw new Invalid(
        "hours",
        `hours ${hours} would take VM ${vm.name} beyond what the policy allows${limitSource(image, ctx)}, ${maxHours} hours from now: at most ${extension.mostHours} more hours now`,
      );
    }
    return applyExtension(ctx, tx, { id: vm.id, host: vm.host, state: life.state }, extension.expiresAt, now, `${hours} h later`);
  });
}

/**
 * Sets a VM's new expiry (later than before) in the caller's transaction: re-arms its warnings for it
 * (the old ones' keys and links are for the old expiry) and starts it again if it had expired.
 */
async function applyExtension(ctx: ServerContext, tx: DbOrTx, vm: { id: string; host: string; state: VmState }, expiresAt: Date, now: Date, how: string): Promise<Changed> {
  const at = expiresAt.toISOString();
  await setExpiry(tx, vm.id, at, now);
  await setPolicyTimes(tx, vm.id, { policyAt: firstPolicyAt(expiresAt, now, ctx.config.expiry.warningsSeconds) });
  const restarted = vm.state === "expired" && (await startAfterGrace(tx, vm.id, vm.host, now));
  const detail = `expiry moved to ${at}, ${how}${restarted ? "; started again" : ""}`;
  return { vmId: vm.id, ...(restarted ? { host: vm.host } : {}), step: { state: restarted ? "provisioning" : vm.state, detail }, auditDetail: detail };
}

/** Whose limit a refusal names: the image's when it is stricter than [expiry]'s. */
function limitSource(image: { maxHours?: number | null } | undefined, ctx: ServerContext): string {
  return image?.maxHours != null && image.maxHours < ctx.config.expiry.maxHours ? " for its image" : "";
}

/** What an extend link's page says and does: the VM, the expiry it extends and the hours it adds. */
export interface LinkExtension {
  vm: Vm;
  hours: number;
}

/**
 * Why an extend link does nothing: `unknown` (no such link), `used`, `stale` (the VM's expiry is
 * another, or it is gone), `at-most` (its expiry is as far as the policy allows already).
 */
export type LinkRefusal = { refused: "unknown" | "used" | "stale" | "at-most"; vm?: Vm };

/** What an extend link would do, changing nothing (a mail scanner only opens it). */
export async function previewLink(ctx: ServerContext, secret: string): Promise<LinkExtension | LinkRefusal> {
  const link = await findExtendLink(ctx.db, secret);
  if (link === undefined) return { refused: "unknown" };
  const vm = await findVm(ctx.db, link.vmId);
  if (vm === undefined) return { refused: "stale" };
  if (link.usedAt !== null) return { refused: "used", vm };
  if (vm.expiresAt !== link.expiresAt || !canExtend(vm.state)) return { refused: "stale", vm };
  const image = catalogImage(ctx, vm.image) ?? (await imageLifetime(ctx.db, vm.image));
  return { vm, hours: lifetimeLimits(image, ctx.config.expiry).defaultHours };
}

/**
 * Presses an extend link: adds the image's (or [expiry]'s) defaultHours, within maxHours from now, to
 * the VM it names, once, as its owner (audited so, with `address`). The link, the VM and its expiry
 * are checked again on the locked row: two presses at once extend once.
 */
export async function extendByLink(ctx: ServerContext, secret: string, address: string | null): Promise<LinkExtension | LinkRefusal> {
  const preview = await previewLink(ctx, secret);
  if ("refused" in preview) return preview;
  const owner = await findUser(ctx.db, preview.vm.owner);
  if (owner === undefined) return { refused: "stale", vm: preview.vm };
  const image = catalogImage(ctx, preview.vm.image) ?? (await imageLifetime(ctx.db, preview.vm.image));
  const { defaultHours, maxHours } = lifetimeLimits(image, ctx.config.expiry);
  try {
    const vm = await change(ctx, { user: owner, address }, "vm.extend", async (tx, now) => {
      const link = await findExtendLink(tx, secret);
      const life = await lockVm(tx, preview.vm.id);
      if (link === undefined || life === undefined) throw new LinkRefused({ refused: "stale", vm: preview.vm });
      if (link.usedAt !== null) throw new LinkRefused({ refused: "used", vm: preview.vm });
      if (life.expiresAt !== link.expiresAt || !canExtend(life.state)) throw new LinkRefused({ refused: "stale", vm: preview.vm });
      const from = Math.max(Date.parse(life.expiresAt), now.getTime());
      const expiresAt = new Date(Math.min(from + defaultHours * 3600_000, now.getTime() + maxHours * 3600_000));
      // Already as far as the policy allows: nothing to add, and the link stays for later.
      if (expiresAt.getTime() <= Date.parse(life.expiresAt)) throw new LinkRefused({ refused: "at-most", vm: preview.vm });
      await useExtendLink(tx, link.hash, now);
      const hours = Math.round(((expiresAt.getTime() - from) / 3600_000) * 100) / 100;
      return applyExtension(ctx, tx, { id: preview.vm.id, host: preview.vm.host, state: life.state }, expiresAt, now, `${hours} h later, by the link of an expiry mail`);
    });
    return { vm, hours: defaultHours };
  } catch (err) {
    if (err instanceof LinkRefused) return err.refusal;
    throw err;
  }
}

/** Thrown inside an extend link's transaction, so that a refused press writes nothing (no audit row either). */
class LinkRefused extends Error {
  constructor(readonly refusal: LinkRefusal) {
    super(refusal.refused);
  }
}

function requireExtendable(name: string, state: VmState): void {
  if (!canExtend(state)) throw new Conflict("wrong-state", `VM ${name} is ${state}; only a live VM can be extended`);
}

/** An administrator sets any expiry, or none: beyond the policy, as API.md allows them. */
export async function setVmExpiry(ctx: ServerContext, actor: Actor, id: string, expiresAt: string | null): Promise<Vm> {
  const vm = await visibleVm(ctx.db, actor.user, id);
  if (!actor.user.admin) throw new Forbidden("only administrators may set an expiry; extend your VM with POST /vms/{id}/extend");
  if (isFinal(vm.state)) throw new Conflict("wrong-state", `VM ${vm.name} is ${vm.state}; its expiry no longer matters`);
  const at = expiresAt === null ? null : new Date(expiresAt);
  if (at !== null && Number.isNaN(at.getTime())) throw new Invalid("expiresAt", `expiresAt '${expiresAt}' is not a time: give an ISO time like 2027-01-31T18:00:00Z, or null`);
  return change(ctx, actor, "vm.set-expiry", async (tx, now) => {
    const life = await lockVm(tx, vm.id);
    if (life === undefined) throw new NotFound(`no VM with id '${id}' is yours`);
    const expiry = at === null ? null : at.toISOString();
    await setExpiry(tx, vm.id, expiry, now);
    // Re-armed for the new expiry; a VM is still never expired before what its last warning said.
    await setPolicyTimes(tx, vm.id, { policyAt: at === null ? null : firstPolicyAt(at, now, ctx.config.expiry.warningsSeconds) });
    return { vmId: vm.id, step: { state: life.state, detail: expiry === null ? "expiry removed: it never expires" : `expiry set to ${expiry}` } };
  });
}

/** What a change did, for change() to record and announce. */
export interface Changed {
  vmId: string;
  /** The host whose node must hear of it: what should run there changed. */
  host?: string;
  /** The VM as it now is, when the change knows it without reading it again. */
  vm?: Vm;
  /** The step of the VM's history it makes, by the actor: undefined when it made none. */
  step?: { state: VmState; detail: string | null };
  auditDetail?: string | null;
}

/**
 * Runs `work`, the audit row of `action` and the step of the VM's history in one transaction; after the
 * commit, wakes the node of the host `work` names and publishes the VM as it now is.
 */
export async function change(
  ctx: ServerContext,
  actor: Actor,
  action: string,
  work: (tx: DbOrTx, now: Date) => Promise<Changed>,
): Promise<Vm> {
  const now = ctx.now();
  const done = await ctx.writes.run(async (tx) => {
    const result = await work(tx, now);
    const { vmId, step } = result;
    await insertAudit(tx, { at: now, actor: actor.user.name, action, target: vmId, address: actor.address, detail: result.auditDetail ?? null });
    if (step !== undefined) await recordHistory(tx, [{ vmId, at: now, by: actor.user.name, ...step }]);
    return result;
  });
  if (done.host !== undefined) ctx.hub.notifyHost(done.host);
  const vm = done.vm ?? (await findVm(ctx.db, done.vmId));
  if (!vm) throw new Error(`VM ${done.vmId} vanished right after ${action} committed`);
  ctx.hub.publishVm(vm);
  ctx.log.info({ reqId: actor.requestId, vm: vm.id, action, actor: actor.user.name, state: vm.state, host: vm.host }, `${action} ${vm.name}`);
  return viewFor(actor.user, vm);
}

export async function visibleVm(db: DbOrTx, user: User, id: string): Promise<Vm> {
  const vm = isVmId(id) ? await findVm(db, id) : undefined;
  if (!vm || (!user.admin && vm.owner !== user.name)) throw new NotFound(`no VM with id '${id}' is yours`);
  return vm;
}

async function checkQuota(tx: DbOrTx, ctx: ServerContext, user: User, size: { memoryMiB: number; cpus: number }): Promise<void> {
  const quota = quotaFor(ctx.config.quota, user);
  if (!hasAnyLimit(quota)) return;
  // Two deploys of one user count one after the other (on PostgreSQL, where they could overlap).
  await lockUser(tx, user.name);
  const problem = quotaProblem(quota, await holdingUse(tx, user.name), size);
  if (problem !== undefined) throw new Conflict("quota-exceeded", problem);
}

/** What the deploy path reads of server.toml, worked out once per (frozen) config, not per request. */
interface Catalog {
  images: Map<string, ImageEntry>;
  /** The pool's hosts as placement's rules see an empty one of each: what could ever fit. */
  pool: HostLoad[];
}

const catalogs = new WeakMap<ServerContext["config"], Catalog>();

function catalogOf(ctx: ServerContext): Catalog {
  let catalog = catalogs.get(ctx.config);
  if (!catalog) {
    const { overcommit } = ctx.config;
    catalog = {
      images: new Map(ctx.config.images.map((i) => [i.tag, i])),
      pool: ctx.config.hosts.map((h) => ({
        name: h.name,
        online: true,
        maxVms: h.maxVms,
        vms: 0,
        memoryMiB: Math.floor(h.memoryMiB * overcommit.memory),
        usedMemoryMiB: 0,
        cpus: Math.floor(h.cpus * overcommit.cpus),
        usedCpus: 0,
      })),
    };
    catalogs.set(ctx.config, catalog);
  }
  return catalog;
}

/** An image of server.toml's catalog by tag, from memory. */
function catalogImage(ctx: ServerContext, tag: string): ImageEntry | undefined {
  return catalogOf(ctx).images.get(tag);
}

export function loadOptions(ctx: ServerContext, now: Date) {
  return { now, offlineAfterSeconds: ctx.config.nodeOfflineAfterSeconds, overcommit: ctx.config.overcommit };
}

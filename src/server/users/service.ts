// A user's own account: who they are, their ssh keys and their API tokens. Each change is written with
// its audit row in one transaction.

import { DEFAULT_TOKEN_HOURS, type CreatedToken, type CreateTokenRequest, type Me, type PageRequest, type Token } from "../../core/api.js";
import { Conflict, NotFound } from "../../core/errors.js";
import { parseSshPublicKeys } from "../../core/ssh-keys.js";
import type { ServerContext } from "../context.js";
import { insertAudit } from "../store/audit.js";
import type { DbOrTx } from "../store/db.js";
import { answerPage, pageOf } from "../pages.js";
import { countLiveTokens, issueToken, listTokens, lockUser, revokeToken, saveSshKeys, tokenPageKey } from "../store/users.js";
import { freeSlots } from "../store/hosts.js";
import { holdingUse } from "../store/vms.js";
import { loadOptions, type Actor } from "../vms/service.js";
import { quotaFor } from "./quota.js";

export async function describeMe(ctx: ServerContext, actor: Actor): Promise<Me> {
  const { user } = actor;
  const quota = quotaFor(ctx.config.quota, user);
  const [used, freeVms] = await Promise.all([holdingUse(ctx.db, user.name), freeSlots(ctx.db, loadOptions(ctx, ctx.now()))]);
  return {
    username: user.name,
    admin: user.admin,
    quota: {
      maxVms: quota.maxVms,
      used: used.vms,
      maxMemoryMiB: quota.maxMemoryMiB,
      usedMemoryMiB: used.memoryMiB,
      maxCpus: quota.maxCpus,
      usedCpus: used.cpus,
    },
    limits: { defaultHours: ctx.config.expiry.defaultHours, maxHours: ctx.config.expiry.maxHours },
    capacity: { freeVms },
    sshKeys: user.sshKeys,
  };
}

/** Replaces the user's keys; a malformed key refuses the whole list and saves nothing. */
export async function setSshKeys(ctx: ServerContext, actor: Actor, raw: string[]): Promise<string[]> {
  const keys = parseSshPublicKeys(raw, "keys");
  await audited(ctx, actor, "user.ssh-keys", async (tx) => {
    await saveSshKeys(tx, actor.user.name, keys);
    return { result: undefined, target: actor.user.name };
  });
  return keys;
}

/** The most API tokens one user holds at once (expired ones do not count): a script creating them in a loop stops here. */
export const MAX_TOKENS_PER_USER = 100;

export async function createToken(ctx: ServerContext, actor: Actor, request: CreateTokenRequest): Promise<CreatedToken> {
  const now = ctx.now();
  const hours = request.expiresInHours ?? DEFAULT_TOKEN_HOURS;
  const expiresAt = hours === 0 ? null : new Date(now.getTime() + hours * 3600_000).toISOString();
  const t = await audited(ctx, actor, "token.create", async (tx) => {
    // Two creations of one user count one after the other (on PostgreSQL, where they could overlap).
    await lockUser(tx, actor.user.name);
    const held = await countLiveTokens(tx, actor.user.name, now.toISOString());
    if (held >= MAX_TOKENS_PER_USER) {
      throw new Conflict(
        "too-many-tokens",
        `you hold ${held} API tokens, the most one user may; revoke one you no longer use (GET /api/v1/tokens lists them, DELETE /api/v1/tokens/ID revokes one)`,
      );
    }
    const issued = await issueToken(tx, actor.user.name, request.name, now.toISOString(), expiresAt);
    return { result: issued, target: issued.id };
  });
  return { id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, token: t.secret };
}

export async function userTokens(ctx: ServerContext, actor: Actor, query: PageRequest): Promise<{ items: Token[]; next?: string }> {
  const page = pageOf(query, 2);
  return answerPage(await listTokens(ctx.db, actor.user.name, page), page, tokenPageKey);
}

export async function deleteToken(ctx: ServerContext, actor: Actor, id: string): Promise<void> {
  await audited(ctx, actor, "token.revoke", async (tx) => {
    if (!(await revokeToken(tx, actor.user.name, id))) throw new NotFound(`no token with id '${id}' is yours`);
    return { result: undefined, target: id };
  });
}

/** Runs `work` and the audit row of `action` (on the target `work` names) in one transaction. */
async function audited<T>(
  ctx: ServerContext,
  actor: Actor,
  action: string,
  work: (tx: DbOrTx) => Promise<{ result: T; target: string | null }>,
): Promise<T> {
  const at = ctx.now();
  return ctx.db.transaction().execute(async (tx) => {
    const { result, target } = await work(tx);
    await insertAudit(tx, { at, actor: actor.user.name, action, target, address: actor.address });
    return result;
  });
}

// A user's own account: who they are, their ssh keys and their API tokens. Each change is written with
// its audit row in one transaction.

import type { CreatedToken, Me, Token } from "../../core/api.js";
import { NotFound } from "../../core/errors.js";
import { parseSshPublicKeys } from "../../core/ssh-keys.js";
import type { ServerContext } from "../context.js";
import { insertAudit } from "../store/audit.js";
import type { DbOrTx } from "../store/db.js";
import { issueToken, listTokens, revokeToken, saveSshKeys } from "../store/users.js";
import { holdingUse } from "../store/vms.js";
import type { Actor } from "../vms/service.js";
import { quotaFor } from "./quota.js";

export async function describeMe(ctx: ServerContext, actor: Actor): Promise<Me> {
  const { user } = actor;
  const quota = quotaFor(ctx.config.quota, user);
  const used = await holdingUse(ctx.db, user.name);
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

export async function createToken(ctx: ServerContext, actor: Actor, name: string): Promise<CreatedToken> {
  const t = await audited(ctx, actor, "token.create", async (tx) => {
    const issued = await issueToken(tx, actor.user.name, name, ctx.now().toISOString());
    return { result: issued, target: issued.id };
  });
  return { id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, token: t.secret };
}

export async function userTokens(ctx: ServerContext, actor: Actor): Promise<Token[]> {
  return listTokens(ctx.db, actor.user.name);
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

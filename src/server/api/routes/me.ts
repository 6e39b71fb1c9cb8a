// /api/v1/me and the caller's ssh keys; /api/v1/tokens for the caller's API tokens.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { NotFound } from "../../../core/errors.js";
import { parseSshPublicKeys } from "../../../core/ssh-keys.js";
import { HOLDING_STATES } from "../../../core/vm-state.js";
import type { ServerContext } from "../../context.js";
import { audit } from "../../store/audit.js";
import { issueToken, listTokens, revokeToken, saveSshKeys } from "../../store/users.js";
import { requireUser } from "../auth.js";
import { IdParams, responses } from "../schemas.js";

const MeSchema = Type.Object({
  username: Type.String(),
  admin: Type.Boolean(),
  quota: Type.Object({ maxVms: Type.Union([Type.Integer(), Type.Null()]), used: Type.Integer() }),
  sshKeys: Type.Array(Type.String()),
});
const KeysSchema = Type.Object({ keys: Type.Array(Type.String()) });
const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});

export function meRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get("/me", { schema: { tags: ["me"], summary: "Who you are", response: responses({ 200: MeSchema }) } }, async (request) => {
      const user = requireUser(request);
      const { used } = await ctx.db
        .selectFrom("vms")
        .select((eb) => eb.fn.countAll<number>().as("used"))
        .where("owner", "=", user.name)
        .where("state", "in", HOLDING_STATES)
        .executeTakeFirstOrThrow();
      return {
        username: user.name,
        admin: user.admin,
        quota: { maxVms: user.maxVms ?? ctx.config.quota.maxVmsPerUser, used: Number(used) },
        sshKeys: user.sshKeys,
      };
    });

    app.put(
      "/me/ssh-keys",
      {
        schema: {
          tags: ["me"],
          summary: "Replace your ssh public keys (given to the root user of your new VMs)",
          body: Type.Object({ keys: Type.Array(Type.String({ maxLength: 16384 }), { maxItems: 64 }) }, { additionalProperties: false }),
          response: responses({ 200: KeysSchema }),
        },
      },
      async (request) => {
        const user = requireUser(request);
        const keys = parseSshPublicKeys(request.body.keys);
        await saveSshKeys(ctx.db, user.name, keys);
        await audit(ctx.db, ctx.now(), user.name, "user.ssh-keys", user.name, request.ip);
        return { keys };
      },
    );

    app.post(
      "/tokens",
      {
        schema: {
          tags: ["tokens"],
          summary: "Create an API token; the secret is shown once",
          body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
          response: responses({ 201: Type.Object({ ...TokenSchema.properties, token: Type.String() }) }),
        },
      },
      async (request, reply) => {
        const user = requireUser(request);
        const t = await issueToken(ctx.db, user.name, request.body.name, ctx.now().toISOString());
        await audit(ctx.db, ctx.now(), user.name, "token.create", t.id, request.ip);
        return reply.code(201).send({ id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, token: t.secret });
      },
    );

    app.get(
      "/tokens",
      { schema: { tags: ["tokens"], summary: "Your API tokens (never their secrets)", response: responses({ 200: Type.Object({ items: Type.Array(TokenSchema) }) }) } },
      async (request) => {
        const rows = await listTokens(ctx.db, requireUser(request).name);
        return { items: rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, expiresAt: r.expires_at })) };
      },
    );

    app.delete(
      "/tokens/:id",
      { schema: { tags: ["tokens"], summary: "Revoke one of your API tokens", params: IdParams, response: responses({ 204: Type.Null() }) } },
      async (request, reply) => {
        const user = requireUser(request);
        if (!(await revokeToken(ctx.db, user.name, request.params.id))) throw new NotFound(`no token with id '${request.params.id}' is yours`);
        await audit(ctx.db, ctx.now(), user.name, "token.revoke", request.params.id, request.ip);
        return reply.code(204).send(null);
      },
    );
  };
}

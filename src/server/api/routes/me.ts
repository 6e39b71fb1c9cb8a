// /api/v1/me and the caller's ssh keys; /api/v1/tokens for the caller's API tokens.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { CreateTokenRequestSchema, CreatedTokenSchema, ListOf, MeSchema, PageQuerySchema, SshKeysSchema, TokenSchema } from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { createToken, deleteToken, describeMe, setSshKeys, userTokens } from "../../users/service.js";
import { requireActor } from "../auth.js";
import { IdParams, responses } from "../schemas.js";

export function meRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get("/me", { schema: { tags: ["me"], summary: "Who you are", response: responses({ 200: MeSchema }) } }, async (request) =>
      describeMe(ctx, requireActor(request)),
    );

    app.put(
      "/me/ssh-keys",
      {
        schema: {
          tags: ["me"],
          summary: "Replace your ssh public keys (given to the root user of your new VMs)",
          body: SshKeysSchema,
          response: responses({ 200: SshKeysSchema }),
        },
      },
      async (request) => ({ keys: await setSshKeys(ctx, requireActor(request), request.body.keys) }),
    );

    app.post(
      "/tokens",
      {
        schema: {
          tags: ["tokens"],
          summary: "Create an API token; the secret is shown once",
          body: CreateTokenRequestSchema,
          response: responses({ 201: CreatedTokenSchema }),
        },
      },
      // The answer holds the secret: no cache (the browser's, a proxy's) may keep a copy.
      async (request, reply) => reply.code(201).header("cache-control", "no-store").send(await createToken(ctx, requireActor(request), request.body)),
    );

    app.get(
      "/tokens",
      {
        schema: {
          tags: ["tokens"],
          summary: "Your API tokens (never their secrets), oldest first",
          querystring: PageQuerySchema,
          response: responses({ 200: ListOf(TokenSchema) }),
        },
      },
      async (request) => userTokens(ctx, requireActor(request), request.query),
    );

    app.delete(
      "/tokens/:id",
      { schema: { tags: ["tokens"], summary: "Revoke one of your API tokens", params: IdParams, response: responses({ 204: Type.Null() }) } },
      async (request, reply) => {
        await deleteToken(ctx, requireActor(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}

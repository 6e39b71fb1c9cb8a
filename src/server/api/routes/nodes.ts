// The node protocol's endpoint: a node posts its reports and long-polls what should run on it.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { SyncRequestSchema, SyncResponseSchema } from "../../../core/protocol.js";
import type { ServerContext } from "../../context.js";
import { syncNode } from "../../nodes/long-poll.js";
import { bearerToken } from "../auth.js";
import { responses } from "../schemas.js";

export function nodeRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/nodes/sync",
      {
        config: { nodeAuth: true },
        schema: {
          tags: ["nodes"],
          summary: "Node agents: report VMs, then wait for a change of what should run",
          body: SyncRequestSchema,
          response: responses({ 200: SyncResponseSchema }),
        },
      },
      async (request, reply) => {
        const gone = new AbortController();
        reply.raw.once("close", () => gone.abort());
        return syncNode(ctx, request.body, bearerToken(request), gone.signal);
      },
    );
  };
}

// The node protocol's endpoint: a node posts its reports and long-polls what should run on it.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { VgridError } from "../../../core/errors.js";
import { SyncRequestSchema, SyncResponseSchema } from "../../../core/protocol.js";
import type { ServerContext } from "../../context.js";
import { syncNode } from "../../nodes/long-poll.js";
import { hashSecret } from "../../store/secrets.js";
import { bearerToken } from "../../auth/authenticator.js";
import { responses } from "../schemas.js";

/**
 * The most syncs one node may send in a second. A node sends one sync at a time and folds what changed
 * meanwhile into the next, so a burst of deploys to its host makes a few syncs a second: 100 deploys
 * a second to one host, one after the other (as fast as this server takes them on 2 cores), made 60 at
 * most; 100 at once made 6. A node in a loop, or its token in a script, sends thousands a second on
 * several connections, each a store write: above this it gets 429s, cheaply, and users are served.
 */
export const NODE_SYNCS_PER_SECOND = 100;

/**
 * Whose syncs are counted together: a node's token (only its hash is kept, so that the limiter's
 * memory opens nothing), or the address of a caller that sends none. The node's name is in the body,
 * which is not parsed yet.
 */
function syncerKey(request: FastifyRequest): string {
  const token = bearerToken(request);
  return token === undefined ? `address:${request.ip}` : `token:${hashSecret(token)}`;
}

export function nodeRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/nodes/sync",
      {
        config: {
          nodeAuth: true,
          rateLimit: {
            max: NODE_SYNCS_PER_SECOND,
            timeWindow: 1000,
            keyGenerator: syncerKey,
            onExceeded: () => ctx.metrics.nodeSyncsLimited.inc(),
            errorResponseBuilder: (_request, limit) =>
              new VgridError(
                "rate-limited",
                `this node sent more than ${limit.max} syncs in a second; retry after ${limit.after}, as Retry-After says (a vgrid node does so on its own)`,
              ),
          },
        },
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

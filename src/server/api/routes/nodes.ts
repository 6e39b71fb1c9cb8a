// The node protocol's endpoint: a node posts its reports and long-polls what should run on it.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { VgridError } from "../../../core/errors.js";
import { MAX_SYNC_BODY_BYTES, SyncRequestSchema, SyncResponseSchema } from "../../../core/protocol.js";
import type { ServerContext } from "../../context.js";
import { syncNode } from "../../nodes/long-poll.js";
import { authenticateNode } from "../../nodes/sync.js";
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

declare module "fastify" {
  interface FastifyRequest {
    /** The host whose node's secret authenticated the request (the node protocol only). */
    node?: string;
  }
}

/** Whose syncs are counted together: a host's (its secret was checked first, in onRequest). */
function syncerKey(request: FastifyRequest): string {
  return `host:${request.node ?? ""}`;
}

export function nodeRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/nodes/sync",
      {
        // The node's secret is checked before the body is read or parsed: a caller without one costs a
        // hash and an index lookup, not a validated body. The rate limit (pushed after this hook by the
        // plugin) then counts by host.
        onRequest: async (request) => {
          request.node = await authenticateNode(ctx.db, bearerToken(request));
        },
        // Larger than the API's other bodies: a sync carries its VMs' console output too (a bounded
        // chunk each). Only a node's secret gets this far.
        bodyLimit: MAX_SYNC_BODY_BYTES,
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
        return syncNode(ctx, request.body, request.node!, gone.signal);
      },
    );
  };
}

// The node protocol's endpoint: a node posts its reports and long-polls what should run on it.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { SyncRequestSchema, SyncResponseSchema } from "../../../core/protocol.js";
import type { ServerContext } from "../../context.js";
import { applyReports, authenticateNode, desiredFor } from "../../nodes/sync.js";
import { findVm } from "../../store/vms.js";
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
        const req = request.body;
        await authenticateNode(ctx.db, req.node, bearerToken(request));
        const changed = await applyReports(ctx.db, req, ctx.now());
        for (const id of changed) {
          const vm = await findVm(ctx.db, id);
          if (vm) ctx.hub.publishVm(vm);
        }
        // Listen before reading: a change between the read and the wait would otherwise sleep until
        // the wait ends (up to waitSeconds) instead of waking this node at once.
        const watch = ctx.hub.watchHost(req.node);
        try {
          let desired = await desiredFor(ctx.db, req.node);
          if (changed.length === 0 && desired.version === req.version && req.waitSeconds > 0) {
            const abort = new AbortController();
            // A node that gave up (or died) must not keep a listener waiting.
            reply.raw.once("close", () => abort.abort());
            await watch.wait(req.waitSeconds * 1000, abort.signal);
            // The node was online all along: it was waiting on us.
            await ctx.db.updateTable("hosts").set({ last_seen_at: ctx.now().toISOString() }).where("name", "=", req.node).execute();
            desired = await desiredFor(ctx.db, req.node);
          }
          return desired;
        } finally {
          watch.cancel();
        }
      },
    );
  };
}

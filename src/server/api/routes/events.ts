// GET /api/v1/events: Server-Sent Events of VM changes the caller may see (theirs, or all for an admin).

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { ServerResponse } from "node:http";
import type { Vm } from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { viewFor } from "../../vms/service.js";
import { requireUser } from "../auth.js";

/** Comment lines keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 20_000;

export function eventRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Open streams end when the server closes; otherwise close() would wait on them forever.
    const open = new Set<ServerResponse>();
    app.addHook("preClose", async () => {
      for (const out of open) out.end();
    });

    app.get(
      "/events",
      {
        schema: {
          tags: ["vms"],
          summary: "Server-Sent Events: one `vm` event with the vm object each time one of your VMs changes",
          produces: ["text/event-stream"],
        },
      },
      async (request, reply) => {
        const user = requireUser(request);
        reply.hijack();
        const out = reply.raw;
        out.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        out.write(": vgrid events\n\n");
        const send = (vm: Vm) => {
          if (user.admin || vm.owner === user.name) out.write(`event: vm\ndata: ${JSON.stringify(viewFor(user, vm))}\n\n`);
        };
        const stop = ctx.hub.onVm(send);
        const keepalive = setInterval(() => out.write(": keepalive\n\n"), KEEPALIVE_MS);
        open.add(out);
        out.once("close", () => {
          clearInterval(keepalive);
          stop();
          open.delete(out);
        });
      },
    );
  };
}

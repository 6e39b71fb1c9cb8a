// /api/v1/outbox: every mail vgrid has decided to send, for administrators, newest first: to whom,
// about what, and how its sending goes (attempts, the last error in words); never a body or a secret.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { ListOf, OutboxEntrySchema, OutboxQuerySchema } from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { answerPage, pageOf } from "../../pages.js";
import { listOutbox } from "../../store/outbox.js";
import { requireAdmin } from "../auth.js";
import { responses } from "../schemas.js";

export function outboxRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/outbox",
      {
        schema: {
          tags: ["mail"],
          summary: "The mails vgrid sends, newest first (admin): state, attempts and the last error; filter by state, kind or vmId",
          querystring: OutboxQuerySchema,
          response: responses({ 200: ListOf(OutboxEntrySchema) }),
        },
      },
      async (request) => {
        requireAdmin(request);
        const { state, kind, vmId } = request.query;
        const page = pageOf(request.query, 1);
        const rows = await listOutbox(ctx.db, { state, kind, vmId }, page);
        return answerPage(rows, page, (r) => [r.id]);
      },
    );
  };
}

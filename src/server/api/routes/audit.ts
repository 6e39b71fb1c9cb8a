// /api/v1/audit: the audit log for administrators, newest first, with filters and a text search.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AuditEntrySchema, AuditQuerySchema, ListOf } from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { answerPage, pageOf } from "../../pages.js";
import { listAudit } from "../../store/audit.js";
import { requireAdmin } from "../auth.js";
import { responses } from "../schemas.js";

export function auditRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/audit",
      {
        schema: {
          tags: ["audit"],
          summary: "Who did what, when and from where (admin); filter by actor, action or target, search with q",
          querystring: AuditQuerySchema,
          response: responses({ 200: ListOf(AuditEntrySchema) }),
        },
      },
      async (request) => {
        requireAdmin(request);
        const { actor, action, target, q } = request.query;
        const page = pageOf(request.query, 1);
        const rows = await listAudit(ctx.db, { actor, action, target, text: q }, page);
        const { items, next } = answerPage(rows, page, (r) => [String(r.id)]);
        return { items: items.map(({ id: _id, ...entry }) => entry), ...(next === undefined ? {} : { next }) };
      },
    );
  };
}

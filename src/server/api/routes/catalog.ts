// /api/v1/images (everyone), /api/v1/hosts and /api/v1/hostnames (admins).

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HostSchema, HostnameSchema, ImageSchema, ListOf, PageQuerySchema } from "../../../core/api.js";
import { publicImage } from "../../../core/image.js";
import type { ServerContext } from "../../context.js";
import { listHostnames } from "../../store/hostnames.js";
import { listHosts } from "../../store/hosts.js";
import { deployableImages } from "../../store/images.js";
import { answerPage, pageOf } from "../../pages.js";
import { loadOptions } from "../../vms/service.js";
import { requireAdmin, requireUser } from "../auth.js";
import { responses } from "../schemas.js";

export function catalogRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/images",
      { schema: { tags: ["images"], summary: "Images you may deploy", querystring: PageQuerySchema, response: responses({ 200: ListOf(ImageSchema) }) } },
      async (request) => {
        const page = pageOf(request.query, 1);
        const rows = await deployableImages(ctx.db, requireUser(request).name, page);
        return answerPage(rows.map(publicImage), page, (i) => [i.tag]);
      },
    );

    app.get(
      "/hosts",
      { schema: { tags: ["hosts"], summary: "The host pool with capacity (admin)", querystring: PageQuerySchema, response: responses({ 200: ListOf(HostSchema) }) } },
      async (request) => {
        requireAdmin(request);
        const page = pageOf(request.query, 1);
        return answerPage(await listHosts(ctx.db, loadOptions(ctx, ctx.now()), page), page, (h) => [h.name]);
      },
    );

    app.get(
      "/hostnames",
      {
        schema: {
          tags: ["hosts"],
          summary: "The hostname pool and who holds each name (admin)",
          querystring: PageQuerySchema,
          response: responses({ 200: ListOf(HostnameSchema) }),
        },
      },
      async (request) => {
        requireAdmin(request);
        const page = pageOf(request.query, 1);
        return answerPage(await listHostnames(ctx.db, page), page, (n) => [n.name]);
      },
    );
  };
}

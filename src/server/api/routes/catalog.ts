// /api/v1/images (everyone), /api/v1/hosts and /api/v1/hostnames (admins).

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HostSchema, HostnameSchema, ImageSchema, ListOf } from "../../../core/api.js";
import { publicImage } from "../../../core/image.js";
import type { ServerContext } from "../../context.js";
import { listHostnames } from "../../store/hostnames.js";
import { listHosts } from "../../store/hosts.js";
import { deployableImages } from "../../store/images.js";
import { loadOptions } from "../../vms/service.js";
import { requireAdmin, requireUser } from "../auth.js";
import { responses } from "../schemas.js";

export function catalogRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/images",
      { schema: { tags: ["images"], summary: "Images you may deploy", response: responses({ 200: ListOf(ImageSchema) }) } },
      async (request) => ({ items: (await deployableImages(ctx.db, requireUser(request).name)).map(publicImage) }),
    );

    app.get(
      "/hosts",
      { schema: { tags: ["hosts"], summary: "The host pool with capacity (admin)", response: responses({ 200: ListOf(HostSchema) }) } },
      async (request) => {
        requireAdmin(request);
        return { items: await listHosts(ctx.db, loadOptions(ctx, ctx.now())) };
      },
    );

    app.get(
      "/hostnames",
      { schema: { tags: ["hosts"], summary: "The hostname pool and who holds each name (admin)", response: responses({ 200: ListOf(HostnameSchema) }) } },
      async (request) => {
        requireAdmin(request);
        return { items: await listHostnames(ctx.db) };
      },
    );
  };
}

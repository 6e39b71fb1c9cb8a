// /api/v1/images (everyone) and /api/v1/hosts (admins).

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ImageSchema } from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { hostLoads } from "../../scheduler/deploy.js";
import { visibleImages } from "../../store/images.js";
import { requireAdmin, requireUser } from "../auth.js";
import { responses } from "../schemas.js";

const HostSchema = Type.Object({
  name: Type.String(),
  online: Type.Boolean(),
  maxVms: Type.Integer(),
  vms: Type.Integer(),
  memoryMiB: Type.Integer(),
  usedMemoryMiB: Type.Integer(),
  cpus: Type.Integer(),
  usedCpus: Type.Integer(),
});

export function catalogRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/images",
      { schema: { tags: ["images"], summary: "Images you may deploy", response: responses({ 200: Type.Object({ items: Type.Array(ImageSchema) }) }) } },
      async (request) => {
        const user = requireUser(request);
        const rows = await visibleImages(ctx.db, user.name);
        return {
          items: rows.map((r) => ({
            tag: r.tag,
            name: r.name,
            boot: r.boot,
            minMemoryMiB: r.min_memory_mib,
            defaultMemoryMiB: r.default_memory_mib,
            maxMemoryMiB: r.max_memory_mib,
            maxCpus: r.max_cpus,
          })),
        };
      },
    );

    app.get(
      "/hosts",
      { schema: { tags: ["hosts"], summary: "The host pool with capacity (admin)", response: responses({ 200: Type.Object({ items: Type.Array(HostSchema) }) }) } },
      async (request) => {
        requireAdmin(request);
        return { items: await hostLoads(ctx.db, ctx.config, ctx.now()) };
      },
    );
  };
}

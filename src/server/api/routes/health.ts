// Liveness and readiness at the root, Prometheus metrics, and the pages that explain problem types.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Registry, collectDefaultMetrics, Gauge } from "prom-client";
import { Type } from "typebox";
import { NotFound, problemKind } from "../../../core/errors.js";
import type { ServerContext } from "../../context.js";
import { pingStore } from "../../store/db.js";
import { hostLoads } from "../../store/hosts.js";
import { countVmsByState } from "../../store/vms.js";
import { loadOptions } from "../../vms/service.js";
import { responses } from "../schemas.js";

const Health = Type.Object({ status: Type.String(), detail: Type.Optional(Type.String()) });

export function healthRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: "vgrid_vms",
    help: "VMs by state",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await countVmsByState(ctx.db)) this.set({ state: r.state }, r.count);
    },
  });
  new Gauge({
    name: "vgrid_hosts_online",
    help: "Hosts whose node synced recently",
    registers: [registry],
    async collect() {
      const hosts = await hostLoads(ctx.db, loadOptions(ctx, ctx.now()));
      this.set(hosts.filter((h) => h.online).length);
    },
  });

  return async (app) => {
    app.get("/healthz", { schema: { tags: ["health"], response: { 200: Health } } }, async () => ({ status: "ok" }));

    app.get(
      "/readyz",
      { schema: { tags: ["health"], summary: "Ready to deploy", response: { 200: Health, 503: Health } } },
      async (_request, reply) => {
        if (!(await pingStore(ctx.db))) return reply.code(503).send({ status: "unready", detail: "the store is not reachable" });
        const hosts = await hostLoads(ctx.db, loadOptions(ctx, ctx.now()));
        const wanted = ctx.localHost === undefined ? hosts : hosts.filter((h) => h.name === ctx.localHost);
        if (!wanted.some((h) => h.online)) {
          return reply.code(503).send({ status: "unready", detail: "no node is online yet" });
        }
        return { status: "ready" };
      },
    );

    app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
      return reply.type(registry.contentType).send(await registry.metrics());
    });

    app.get(
      "/problems/:slug",
      { schema: { hide: true, params: Type.Object({ slug: Type.String() }), response: responses({ 200: Type.String() }) } },
      async (request, reply) => {
        const kind = problemKind(request.params.slug);
        if (kind === undefined) throw new NotFound(`no problem type '${request.params.slug}'`);
        return reply.type("text/plain").send(`${request.params.slug}: ${kind.title}. ${kind.explanation}\n`);
      },
    );
  };
}

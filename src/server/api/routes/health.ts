// Liveness and readiness at the root, Prometheus metrics, and the pages that explain problem types.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Registry, collectDefaultMetrics, Gauge } from "prom-client";
import { Type } from "typebox";
import { NotFound } from "../../../core/errors.js";
import type { ServerContext } from "../../context.js";
import { hostLoads } from "../../scheduler/deploy.js";
import { PROBLEM_EXPLANATIONS } from "../problems.js";
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
      const rows = await ctx.db.selectFrom("vms").select(["state", (eb) => eb.fn.countAll<number>().as("n")]).groupBy("state").execute();
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  new Gauge({
    name: "vgrid_hosts_online",
    help: "Hosts whose node synced recently",
    registers: [registry],
    async collect() {
      const hosts = await hostLoads(ctx.db, ctx.config, ctx.now());
      this.set(hosts.filter((h) => h.online).length);
    },
  });

  return async (app) => {
    app.get("/healthz", { schema: { tags: ["health"], response: { 200: Health } } }, async () => ({ status: "ok" }));

    app.get(
      "/readyz",
      { schema: { tags: ["health"], summary: "Ready to deploy", response: { 200: Health, 503: Health } } },
      async (_request, reply) => {
        try {
          await sql`select 1`.execute(ctx.db);
        } catch {
          return reply.code(503).send({ status: "unready", detail: "the store is not reachable" });
        }
        const hosts = await hostLoads(ctx.db, ctx.config, ctx.now());
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
        const text = PROBLEM_EXPLANATIONS[request.params.slug];
        if (text === undefined) throw new NotFound(`no problem type '${request.params.slug}'`);
        return reply.type("text/plain").send(`${request.params.slug}: ${text}\n`);
      },
    );
  };
}

// Liveness and readiness at the root, Prometheus metrics, and the pages that explain problem types.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { Forbidden, NotFound, problemKind } from "../../../core/errors.js";
import type { ServerContext } from "../../context.js";
import { pingStore } from "../../store/db.js";
import { anyHostOnline } from "../../store/hosts.js";
import { loadOptions } from "../../vms/service.js";
import { addressList } from "../../auth/addresses.js";
import { bearerToken, type Authenticator } from "../../auth/authenticator.js";
import { responses } from "../schemas.js";

const Health = Type.Object({ status: Type.String(), detail: Type.Optional(Type.String()) });

export function healthRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncTypebox {
  const allowed = addressList(ctx.config.metrics.allow);

  return async (app) => {
    app.get("/healthz", { schema: { tags: ["health"], response: { 200: Health } } }, async () => ({ status: "ok" }));

    app.get(
      "/readyz",
      { schema: { tags: ["health"], summary: "Ready to deploy", response: { 200: Health, 503: Health } } },
      async (_request, reply) => {
        if (!(await pingStore(ctx.db))) return reply.code(503).send({ status: "unready", detail: "the store is not reachable" });
        if (!(await anyHostOnline(ctx.db, loadOptions(ctx, ctx.now()), ctx.localHost))) {
          return reply.code(503).send({ status: "unready", detail: "no node is online yet" });
        }
        return { status: "ready" };
      },
    );

    app.get("/metrics", { schema: { hide: true } }, async (request, reply) => {
      // Answered to the addresses of [metrics] allow (loopback by default) and to an admin's token.
      if (!allowed.has(request.ip)) {
        const ip = request.ip.replace(/^::ffff:/, "");
        const user = bearerToken(request) === undefined ? undefined : (await auth.identify(request).catch(() => null))?.user;
        if (!user?.admin) throw new Forbidden(`metrics are answered to the addresses of [metrics] allow in server.toml and to admins' tokens, not to ${ip}`);
      }
      const { registry } = ctx.metrics;
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

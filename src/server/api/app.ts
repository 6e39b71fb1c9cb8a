// Builds the server's HTTP app (routes, schemas, auth, errors) without listening: tests inject() into it.

import cookie from "@fastify/cookie";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { randomUUID } from "node:crypto";
import { MAX_WAIT_SECONDS } from "../../core/protocol.js";
import { vgridVersion } from "../../core/repo.js";
import type { ServerContext } from "../context.js";
import { bearerToken, openAuthenticator } from "../auth/authenticator.js";
import { RateLimited } from "../auth/login-limits.js";
import { portalOrigin } from "../auth/origin.js";
import { httpsOptions } from "../tls.js";
import { Forbidden, Unauthorized } from "../../core/errors.js";
import { openSingleSignOn } from "../auth/oidc.js";
import { auditRoutes } from "./routes/audit.js";
import { outboxRoutes } from "./routes/outbox.js";
import { authApiRoutes, loginPages } from "./routes/auth.js";
import { portalPages } from "./routes/portal.js";
import { oidcPages } from "./routes/oidc.js";
import { problem, sendProblem, toProblem } from "./problems.js";
import { catalogRoutes } from "./routes/catalog.js";
import { extendPages } from "./routes/extend.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { meRoutes } from "./routes/me.js";
import { nodeRoutes } from "./routes/nodes.js";
import { vmRoutes } from "./routes/vms.js";

declare module "fastify" {
  interface FastifyContextConfig {
    nodeAuth?: boolean;
    /** Answered without a caller (logging in). */
    public?: boolean;
  }
}

/**
 * Socket and request timeouts that fit the node protocol: a long-poll waits up to MAX_WAIT_SECONDS (60)
 * with no byte sent, and an event stream sends a keep-alive comment every 20 s, so an idle socket may
 * stay 30 s more than that: 90 s. A request (headers and body) must arrive within 30 s: Node's
 * requestTimeout counts until the request is read, not while its answer is awaited, so it never cuts
 * a long-poll. An idle keep-alive connection closes after 75 s, above the node's pause between syncs
 * and the usual load balancer's 60 s.
 */
export const HTTP_TIMEOUTS = {
  connectionTimeout: (MAX_WAIT_SECONDS + 30) * 1000,
  requestTimeout: 30_000,
  keepAliveTimeout: 75_000,
} as const;

export async function buildApp(ctx: ServerContext, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  // Under [tls] the app is an HTTPS server of its own (and asks for client certificates under [auth.cert]).
  const https = await httpsOptions(ctx.config);
  const app = Fastify({
    ...HTTP_TIMEOUTS,
    ...options,
    ...(https ? { https } : {}),
    // Strict bodies: "512" is not a number and unknown fields are errors, never silently dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    bodyLimit: 256 * 1024,
    // The request id follows a request through the log (and a deploy to its node's log): a caller's
    // own X-Request-Id when it is a plain token, else a fresh one. The log holds events, not requests.
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
    },
    logController: new LogController({ disableRequestLogging: true }),
    // Errors the framework meets before any route (a malformed URL, an over-long path) are problems too.
    frameworkErrors: (error, request, reply) => void sendProblem(reply, toProblem(error, request)),
    // Closing is answered by the hook below, in problem+json like every other error.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest("user", null);
  app.decorateRequest("caller", null);
  const auth = await openAuthenticator(ctx, ctx.config.source);
  const origin = portalOrigin(ctx.config.publicUrl, ctx.config.listen.host, https ? "https" : "http");
  await app.register(cookie);
  // Security headers on every answer: nothing of vgrid's may be framed, sniffed or leak its URLs.
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    referrerPolicy: { policy: "same-origin" },
    // The portal is served over plain HTTP on loopback by `vgrid up`: HSTS only where vgrid serves TLS.
    strictTransportSecurity: https ? { maxAge: 180 * 24 * 3600, includeSubDomains: false } : false,
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  // On close, long-polls end at once rather than holding the close up to their wait (Ctrl-C on
  // `vgrid server` must not hang while a node is connected); requests that still arrive are told why.
  app.addHook("preClose", async () => ctx.hub.close());
  app.addHook("onRequest", async (request, reply) => {
    if (ctx.hub.closing) return sendProblem(reply, problem("shutting-down", "the server is shutting down; retry in a moment"));
    // A change from another site is refused before any credential is looked at (API.md).
    const refused = origin.refusal(request, bearerToken(request) !== undefined);
    if (refused !== undefined) throw new Forbidden(refused);
  });
  app.setErrorHandler((error, request, reply) => {
    const p = toProblem(error as Error, request);
    if (error instanceof RateLimited) reply.header("retry-after", String(error.retryAfterSeconds));
    if (p.type === "/problems/store-unavailable") request.log.warn({ err: String(error) }, "request failed: the store is unavailable");
    else if (p.status >= 500) request.log.error({ err: error }, "request failed");
    return sendProblem(reply, p);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem("not-found", `no route ${request.method} ${request.url.split("?")[0]}; the API is described at /api/docs`)),
  );

  // Limits are set per route (`config.rateLimit`) and answered in onRequest, before the body is parsed
  // or the store is touched; only the node protocol's sync has one (routes/nodes.ts).
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      info: { title: "vgrid", version: vgridVersion(), description: "Self-service virtual machines on a cluster of hypervisors" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    transformObject: (document) => ("openapiObject" in document ? markOptionalBodies(document.openapiObject) : document.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: "/api/docs" });

  await app.register(healthRoutes(ctx, auth));
  await app.register(loginPages(ctx, auth));
  await app.register(extendPages(ctx));
  await app.register(portalPages(auth));
  const { oidc } = ctx.config.auth;
  if (oidc && ctx.config.publicUrl !== undefined) {
    await app.register(oidcPages(ctx, auth, await openSingleSignOn(oidc, ctx.config.publicUrl, ctx.config.source), ctx.config.publicUrl));
  }
  await app.register(
    async (api) => {
      api.addHook("onRequest", async (request, reply) => {
        const config = request.routeOptions.config;
        if (config.nodeAuth || config.public) return;
        const caller = await auth.identify(request);
        if (!caller) {
          // wget-style scripts send their password once asked; the portal's own page never is.
          const fromPage = request.headers["sec-fetch-site"] !== undefined && request.headers["sec-fetch-mode"] !== "navigate";
          if (auth.passwords && !fromPage) reply.header("www-authenticate", 'Basic realm="vgrid"');
          throw new Unauthorized(
            auth.passwords
              ? "not logged in: send your username and password (HTTP Basic), a session cookie, or 'Authorization: Bearer TOKEN'"
              : "no credentials: send 'Authorization: Bearer TOKEN'; `vgrid token create --user NAME` prints a token",
          );
        }
        request.caller = caller;
        request.user = caller.user;
      });
      await api.register(authApiRoutes(ctx, auth));
      await api.register(auditRoutes(ctx));
      await api.register(outboxRoutes(ctx));
      await api.register(meRoutes(ctx));
      await api.register(catalogRoutes(ctx));
      await api.register(vmRoutes(ctx));
      await api.register(nodeRoutes(ctx));
      await api.register(eventRoutes(ctx, auth));
    },
    { prefix: "/api/v1" },
  );
  return app;
}

type OpenApiOperations = Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> } }>;

/**
 * @fastify/swagger marks every request body required; a body whose schema also allows null may be left
 * out altogether (DELETE /vms/{id}, whose reason is optional), and the document says so.
 */
function markOptionalBodies<T extends { paths?: object }>(document: T): T {
  for (const operations of Object.values(document.paths ?? {}) as OpenApiOperations[]) {
    for (const { requestBody } of Object.values(operations)) {
      if (requestBody && Object.values(requestBody.content ?? {}).some((media) => media.schema?.nullable === true)) requestBody.required = false;
    }
  }
  return document;
}

// /api/v1/vms: deploy, list, show, history, boot log, terminate, stop, start, reboot, extend. Only HTTP is mapped here: the VM service does the work.

import type { RateLimitOptions } from "@fastify/rate-limit";
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { VgridError } from "../../../core/errors.js";
import {
  DeployRequestSchema,
  ExtendRequestSchema,
  ListOf,
  MAX_VM_LOG_BYTES,
  PageQuerySchema,
  PatchVmRequestSchema,
  PowerRequestSchema,
  TerminateRequestSchema,
  VmHistoryEntrySchema,
  VmListQuerySchema,
  VmSchema,
} from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { deployVm, extendVm, listVisibleVms, setVmExpiry, showVm, showVmLog, terminateVm, vmHistory } from "../../vms/service.js";
import { rebootVm, startVm, stopVm } from "../../vms/power.js";
import { requireActor, requireUser } from "../auth.js";
import { IdParams, responses } from "../schemas.js";

/**
 * `[rateLimit] deploysPerUserPerMinute` (0: none), counted per user. It runs as a preHandler, after the
 * API's onRequest hook has authenticated the caller, so that its key is who they are: never an address
 * that a whole lab's NAT shares, nor a token that a user could swap for another of theirs.
 */
function deployRateLimit(ctx: ServerContext): RateLimitOptions | false {
  const max = ctx.config.rateLimit.deploysPerUserPerMinute;
  if (max === 0) return false;
  return {
    max,
    timeWindow: 60_000,
    hook: "preHandler",
    keyGenerator: (request) => (request.user ? `user:${request.user.name}` : `address:${request.ip}`),
    errorResponseBuilder: (_request, limit) =>
      new VgridError(
        "rate-limited",
        `you asked for more than ${limit.max} deploys in a minute ([rateLimit] deploysPerUserPerMinute); retry after ${limit.after}, as Retry-After says`,
      ),
  };
}

export function vmRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/vms",
      { config: { rateLimit: deployRateLimit(ctx) }, schema: { tags: ["vms"], summary: "Deploy a VM", body: DeployRequestSchema, response: responses({ 201: VmSchema }) } },
      async (request, reply) => reply.code(201).send(await deployVm(ctx, requireActor(request), request.body)),
    );

    app.get(
      "/vms",
      {
        schema: {
          tags: ["vms"],
          summary: "List VMs: yours, or all of them for an admin with all=true",
          querystring: VmListQuerySchema,
          response: responses({ 200: ListOf(VmSchema) }),
        },
      },
      async (request) => listVisibleVms(ctx, requireUser(request), request.query),
    );

    app.get(
      "/vms/:id",
      { schema: { tags: ["vms"], summary: "Show a VM", params: IdParams, response: responses({ 200: VmSchema }) } },
      async (request) => showVm(ctx, requireUser(request), request.params.id),
    );

    app.get(
      "/vms/:id/history",
      {
        schema: {
          tags: ["vms"],
          summary: "A VM's story, oldest first: each state it went through, who or what moved it, and why",
          params: IdParams,
          querystring: PageQuerySchema,
          response: responses({ 200: ListOf(VmHistoryEntrySchema) }),
        },
      },
      async (request) => vmHistory(ctx, requireUser(request), request.params.id, request.query),
    );

    app.get(
      "/vms/:id/log",
      {
        schema: {
          tags: ["vms"],
          summary: `A VM's boot log (its serial console) so far: the newest ${MAX_VM_LOG_BYTES / 1024 / 1024} MiB at most, as text`,
          params: IdParams,
          response: responses({ 200: { description: "The log, UTF-8 (bytes that are not UTF-8 replaced)", content: { "text/plain": { schema: Type.String() } } } }),
        },
      },
      async (request, reply) => reply.type("text/plain; charset=utf-8").send(await showVmLog(ctx, requireUser(request), request.params.id)),
    );

    // The body is optional: the CLI and scripts send none, and a client that says application/json
    // with nothing after it (as generic fetch wrappers do for a DELETE) is taken as sending none too.
    await app.register(async (plugin) => {
      const terminate = plugin.withTypeProvider<TypeBoxTypeProvider>();
      const json = terminate.getDefaultJsonParser("error", "error");
      terminate.removeContentTypeParser("application/json");
      terminate.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) =>
        body.length === 0 ? done(null, undefined) : json(request, typeof body === "string" ? body : body.toString("utf8"), done),
      );
      terminate.delete(
        "/vms/:id",
        {
          schema: {
            tags: ["vms"],
            summary: "Terminate a VM; an admin terminating another user's VM says why (reason)",
            params: IdParams,
            body: Type.Union([TerminateRequestSchema, Type.Null()]),
            response: responses({ 202: VmSchema }),
          },
        },
        async (request, reply) => reply.code(202).send(await terminateVm(ctx, requireActor(request), request.params.id, request.body ?? null)),
      );

      const powerRoutes = [
        ["stop", "Stop a VM, its disk, slot and hostname kept (force: without asking its guest to power down)", stopVm],
        ["start", "Start a stopped VM again from its own disk", startVm],
        ["reboot", "Reboot a running VM (force: a reset, without asking its guest)", rebootVm],
      ] as const;
      for (const [verb, summary, act] of powerRoutes) {
        terminate.post(
          `/vms/:id/${verb}`,
          {
            schema: {
              tags: ["vms"],
              summary,
              params: IdParams,
              body: Type.Union([PowerRequestSchema, Type.Null()]),
              response: responses({ 202: VmSchema }),
            },
          },
          async (request, reply) => reply.code(202).send(await act(ctx, requireActor(request), request.params.id, request.body ?? null)),
        );
      }
    });

    app.post(
      "/vms/:id/extend",
      {
        schema: {
          tags: ["vms"],
          summary: "Add hours to the later of a VM's expiry and now, at most to [expiry] maxHours from now",
          params: IdParams,
          body: ExtendRequestSchema,
          response: responses({ 200: VmSchema }),
        },
      },
      async (request) => extendVm(ctx, requireActor(request), request.params.id, request.body.hours),
    );

    app.patch(
      "/vms/:id",
      {
        schema: {
          tags: ["vms"],
          summary: "Set any expiry, or none (admin)",
          params: IdParams,
          body: PatchVmRequestSchema,
          response: responses({ 200: VmSchema }),
        },
      },
      async (request) => setVmExpiry(ctx, requireActor(request), request.params.id, request.body.expiresAt),
    );
  };
}

// /api/v1/vms: deploy, list, show, terminate, extend.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { parseSshPublicKeys } from "../../../core/ssh-keys.js";
import { VmSchema } from "../../../core/api.js";
import type { ServerContext } from "../../context.js";
import { deployVm } from "../../scheduler/deploy.js";
import { extendVm, terminateVm, visibleVm } from "../../scheduler/lifecycle.js";
import { audit } from "../../store/audit.js";
import { listVms } from "../../store/vms.js";
import { requireUser } from "../auth.js";
import { IdParams, responses } from "../schemas.js";

const DeployBody = Type.Object(
  {
    image: Type.String({ minLength: 1, maxLength: 128 }),
    memoryMiB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576 })),
    cpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    hours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 87600 })),
    sshKeys: Type.Optional(Type.Array(Type.String({ maxLength: 16384 }), { minItems: 1, maxItems: 64 })),
  },
  { additionalProperties: false },
);

export function vmRoutes(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/vms",
      { schema: { tags: ["vms"], summary: "Deploy a VM", body: DeployBody, response: responses({ 201: VmSchema }) } },
      async (request, reply) => {
        const user = requireUser(request);
        const body = request.body;
        const sshKeys = body.sshKeys === undefined ? undefined : parseSshPublicKeys(body.sshKeys);
        const vm = await deployVm(ctx.db, ctx.config, user, { ...body, sshKeys }, ctx.now());
        ctx.hub.notifyHost(vm.host);
        ctx.hub.publishVm(vm);
        await audit(ctx.db, ctx.now(), user.name, "vm.deploy", vm.id, request.ip);
        return reply.code(201).send(vm);
      },
    );

    app.get(
      "/vms",
      {
        schema: {
          tags: ["vms"],
          summary: "List VMs: yours, or all of them for an admin with all=true",
          querystring: Type.Object(
            {
              // Query strings are text, and bodies are never coerced: so "true" and "false" are spelled out.
              all: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")])),
              state: Type.Optional(Type.Literal("terminated")),
            },
            { additionalProperties: false },
          ),
          response: responses({ 200: Type.Object({ items: Type.Array(VmSchema) }) }),
        },
      },
      async (request) => {
        const user = requireUser(request);
        const all = request.query.all === "true" && user.admin;
        const items = await listVms(ctx.db, {
          ...(all ? {} : { owner: user.name }),
          terminated: request.query.state === "terminated",
        });
        return { items };
      },
    );

    app.get(
      "/vms/:id",
      { schema: { tags: ["vms"], summary: "Show a VM", params: IdParams, response: responses({ 200: VmSchema }) } },
      async (request) => visibleVm(ctx.db, requireUser(request), request.params.id),
    );

    app.delete(
      "/vms/:id",
      { schema: { tags: ["vms"], summary: "Terminate a VM", params: IdParams, response: responses({ 202: VmSchema }) } },
      async (request, reply) => {
        const user = requireUser(request);
        const vm = await terminateVm(ctx.db, user, request.params.id, ctx.now());
        ctx.hub.notifyHost(vm.host);
        ctx.hub.publishVm(vm);
        await audit(ctx.db, ctx.now(), user.name, "vm.terminate", vm.id, request.ip);
        return reply.code(202).send(vm);
      },
    );

    app.post(
      "/vms/:id/extend",
      {
        schema: {
          tags: ["vms"],
          summary: "Move a VM's expiry to the given hours from now (bounded by policy)",
          params: IdParams,
          body: Type.Object({ hours: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
          response: responses({ 200: VmSchema }),
        },
      },
      async (request) => {
        const user = requireUser(request);
        const vm = await extendVm(ctx.db, ctx.config, user, request.params.id, request.body.hours, ctx.now());
        ctx.hub.publishVm(vm);
        await audit(ctx.db, ctx.now(), user.name, "vm.extend", vm.id, request.ip);
        return vm;
      },
    );
  };
}

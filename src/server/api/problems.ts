// Every error the server sends is RFC 9457 problem+json: ours, the framework's, and unexpected ones.

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { Invalid, VgridError } from "../../core/errors.js";

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    field: Type.Optional(Type.String()),
  },
  { $id: "Problem" },
);

export const PROBLEM_EXPLANATIONS: Record<string, string> = {
  invalid: "The request is malformed or asks for something that can never be satisfied; the detail names the field.",
  unauthorized: "No valid credentials: send 'Authorization: Bearer TOKEN' (vgrid token create prints one).",
  forbidden: "You are logged in but not allowed to do this.",
  "not-found": "No such thing, or it is not yours.",
  "no-capacity": "No online host has room for the VM right now; retry after a VM is terminated.",
  "pool-exhausted": "Every hostname of the pool is in use; retry after a VM is terminated.",
  "quota-exceeded": "You reached your VM quota; terminate a VM first.",
  "wrong-state": "The VM is not in a state that allows this action.",
  "no-node": "No node is online to run VMs; start one or wait for it to connect.",
  "unsupported-media-type": "Send the body as application/json.",
  "too-large": "The request body is too large.",
  internal: "The server failed; the error was logged with the request id.",
};

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
}

function problem(slug: string, title: string, status: number, detail: string, field?: string): Problem {
  return { type: `/problems/${slug}`, title, status, detail, ...(field ? { field } : {}) };
}

export function toProblem(error: FastifyError | Error, request: FastifyRequest): Problem {
  if (error instanceof VgridError) {
    return problem(error.slug, error.title, error.status, error.message, error instanceof Invalid ? error.field : undefined);
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const where = `${fe.validationContext ?? "body"}${first?.instancePath ? first.instancePath.replace(/\//g, ".") : ""}`;
    const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    const detail = extra
      ? `${where} has an unknown field '${extra}'; remove it`
      : `${where} ${first?.message ?? "is invalid"}`;
    return problem("invalid", "Bad request", 400, detail, where);
  }
  if (fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return problem("unsupported-media-type", "Unsupported media type", 415, `content type '${request.headers["content-type"] ?? ""}' is not supported; send application/json`);
  }
  if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return problem("too-large", "Payload too large", 413, "the request body is too large");
  }
  if (fe.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return problem("invalid", "Bad request", 400, "the body is empty; send a JSON object");
  }
  if (fe.statusCode === 400 && error instanceof SyntaxError) {
    return problem("invalid", "Bad request", 400, `the body is not valid JSON: ${error.message}`);
  }
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return problem("invalid", "Bad request", fe.statusCode, fe.message);
  }
  return problem("internal", "Internal server error", 500, `the server failed; quote request id ${request.id} to its operator`);
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type("application/problem+json").send(p);
}

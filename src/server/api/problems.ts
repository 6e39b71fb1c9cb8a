// Every error the server sends is RFC 9457 problem+json of a kind registered in core/errors.ts: ours,
// the framework's (bad JSON, schema violations, bad URLs, long paths), and unexpected ones (a 500 that
// leaks nothing).

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Problem } from "../../core/api.js";
import { Invalid, PROBLEMS, VgridError, type ProblemSlug } from "../../core/errors.js";
import { isStoreUnavailable } from "../store/db.js";

export function problem(slug: ProblemSlug, detail: string, field?: string): Problem {
  const kind = PROBLEMS[slug];
  return { type: `/problems/${slug}`, title: kind.title, status: kind.status, detail, ...(field ? { field } : {}) };
}

/** The framework's own errors, by code: what they are in our words. */
const FRAMEWORK: Record<string, (error: FastifyError, request: FastifyRequest) => Problem> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (_e, request) =>
    problem("unsupported-media-type", `content type '${request.headers["content-type"] ?? ""}' is not supported; send application/json`),
  FST_ERR_CTP_BODY_TOO_LARGE: () => problem("too-large", "the request body is too large"),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => problem("invalid", "the body is empty; send a JSON object"),
  FST_ERR_BAD_URL: () => problem("invalid", "the path is not a valid URL (a malformed %-escape?)"),
  FST_ERR_MAX_PARAM_LENGTH: () => problem("uri-too-long", "a part of the path is longer than any id or name vgrid uses"),
};

export function toProblem(error: FastifyError | Error, request: FastifyRequest): Problem {
  if (error instanceof VgridError) return problem(error.slug, error.message, error instanceof Invalid ? error.field : undefined);
  const fe = error as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const where = `${fe.validationContext ?? "body"}${first?.instancePath ? first.instancePath.replace(/\//g, ".") : ""}`;
    const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    const detail = extra ? `${where} has an unknown field '${extra}'; remove it` : `${where} ${first?.message ?? "is invalid"}`;
    return problem("invalid", detail, where);
  }
  const known = fe.code === undefined ? undefined : FRAMEWORK[fe.code];
  if (known) return known(fe, request);
  if (fe.statusCode === 400 && error instanceof SyntaxError) return problem("invalid", `the body is not valid JSON: ${error.message}`);
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    const slug = (Object.keys(PROBLEMS) as ProblemSlug[]).find((s) => PROBLEMS[s].status === fe.statusCode) ?? "invalid";
    return problem(slug, fe.message);
  }
  if (isStoreUnavailable(error)) return problem("store-unavailable", "the server cannot reach its database right now; retry in a moment");
  return problem("internal", `the server failed; quote request id ${request.id} to its operator`);
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type("application/problem+json").send(p);
}

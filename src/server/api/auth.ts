// Who is calling: a bearer token for scripts and the CLI (browser sessions and the seed's login modes come later).

import type { FastifyRequest } from "fastify";
import { Forbidden, Unauthorized } from "../../core/errors.js";
import type { ServerContext } from "../context.js";
import type { Actor } from "../vms/service.js";
import { userForToken, type User } from "../store/users.js";

declare module "fastify" {
  interface FastifyRequest {
    user: User | null;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export async function authenticate(ctx: ServerContext, request: FastifyRequest): Promise<User> {
  const token = bearerToken(request);
  if (token === undefined) {
    throw new Unauthorized("no credentials: send 'Authorization: Bearer TOKEN'; `vgrid token create --user NAME` prints a token");
  }
  const user = await userForToken(ctx.db, token, ctx.now().toISOString());
  if (!user) throw new Unauthorized("the bearer token is unknown, revoked or expired; create a new one");
  return user;
}

export function requireUser(request: FastifyRequest): User {
  if (!request.user) throw new Unauthorized("not logged in");
  return request.user;
}

export function requireAdmin(request: FastifyRequest): User {
  const user = requireUser(request);
  if (!user.admin) throw new Forbidden("only administrators may do this");
  return user;
}

/** The logged-in caller and the address they call from, as the services take them. */
export function requireActor(request: FastifyRequest): Actor {
  return { user: requireUser(request), address: request.ip, requestId: request.id };
}

/** Like requireActor, for what only administrators may do. */
export function requireAdminActor(request: FastifyRequest): Actor {
  return { user: requireAdmin(request), address: request.ip, requestId: request.id };
}

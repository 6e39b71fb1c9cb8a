// What routes ask of the caller that the API's hook identified (auth/authenticator.ts): logged in,
// an administrator, and the actor the services take.

import type { FastifyRequest } from "fastify";
import { Forbidden, Unauthorized } from "../../core/errors.js";
import type { Caller } from "../auth/authenticator.js";
import type { User } from "../store/users.js";
import type { Actor } from "../vms/service.js";

declare module "fastify" {
  interface FastifyRequest {
    user: User | null;
    caller: Caller | null;
  }
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

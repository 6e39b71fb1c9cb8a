// Schemas shared by routes: every status a route may send, and the id in paths.

import { Type, type TSchema } from "typebox";
import { ProblemSchema } from "../../core/api.js";

export function responses<T extends Record<number, TSchema>>(ok: T) {
  return { ...ok, "4xx": ProblemSchema, "5xx": ProblemSchema };
}

export const IdParams = Type.Object({ id: Type.String() }, { additionalProperties: false });

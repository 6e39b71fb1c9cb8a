// Schemas shared by routes: problem answers, and helpers to declare every status a route may send.

import { Type, type TSchema } from "typebox";
import { ProblemSchema } from "./problems.js";

export function responses<T extends Record<number, TSchema>>(ok: T) {
  return { ...ok, "4xx": ProblemSchema, "5xx": ProblemSchema };
}

export const IdParams = Type.Object({ id: Type.String() }, { additionalProperties: false });

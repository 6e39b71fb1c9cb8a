// How secrets (API tokens, node tokens) are kept: only a hash, so that a copy of the store opens nothing.

import { createHash } from "node:crypto";

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

// How secrets (API tokens, node secrets) are kept: an HMAC-SHA256 under a key of this store's own, so
// that a copy of the hashes matches no precomputed table nor another installation's, while a presented
// secret still finds its row through the index (a salt per row would make every lookup a scan). The
// HMAC is taken of the secret's sha256: the hashes kept before the key existed were that sha256, and
// the migration that made the key keyed them in place.

import { createHash, createHmac } from "node:crypto";
import type { DbOrTx } from "./db.js";

/** The store_keys row of the key (made by the migration 2026-12-02T00-keyed-secret-hashes). */
const SECRETS_KEY = "secrets";

/** Per store opened: a Kysely instance and its transactions share one adapter object. */
const keys = new WeakMap<object, Promise<Buffer>>();

function storeKey(db: DbOrTx): Promise<Buffer> {
  const adapter = db.getExecutor().adapter;
  let key = keys.get(adapter);
  if (key === undefined) {
    key = db
      .selectFrom("store_keys")
      .select("key")
      .where("name", "=", SECRETS_KEY)
      .executeTakeFirstOrThrow()
      .then((row) => Buffer.from(row.key, "hex"));
    keys.set(adapter, key);
    // A store that could not be read now is asked again next time.
    key.catch(() => keys.delete(adapter));
  }
  return key;
}

/** What the store keeps of `secret`: the same for the same secret in this store, useless anywhere else. */
export async function hashSecret(db: DbOrTx, secret: string): Promise<string> {
  const digest = createHash("sha256").update(secret).digest("hex");
  return createHmac("sha256", await storeKey(db)).update(digest).digest("hex");
}

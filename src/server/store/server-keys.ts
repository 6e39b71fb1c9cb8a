// Keys the server makes once and every replica reads: the first replica to ask writes one, the others
// find it (an insert that does nothing when the row is there is the lock).

import { randomBytes } from "node:crypto";
import type { DbOrTx } from "./db.js";

/** The 32-byte key named `name`, made on first use. */
export async function serverKey(db: DbOrTx, name: string, now: Date): Promise<Buffer> {
  await db
    .insertInto("server_keys")
    .values({ name, secret: randomBytes(32).toString("base64url"), created_at: now.toISOString() })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db.selectFrom("server_keys").select("secret").where("name", "=", name).executeTakeFirstOrThrow();
  return Buffer.from(row.secret, "base64url");
}

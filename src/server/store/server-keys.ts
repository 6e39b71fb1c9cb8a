// Keys the server makes once and every replica reads: the first replica to ask writes one, the others
// find it (an insert that does nothing when the row is there is the lock).

import { randomBytes } from "node:crypto";
import type { DbOrTx } from "./db.js";

/** The 32-byte key named `name`, made on first use. */
export async function serverKey(db: DbOrTx, name: string): Promise<Buffer> {
  await db
    .insertInto("store_keys")
    .values({ name, key: randomBytes(32).toString("hex") })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db.selectFrom("store_keys").select("key").where("name", "=", name).executeTakeFirstOrThrow();
  return Buffer.from(row.key, "hex");
}

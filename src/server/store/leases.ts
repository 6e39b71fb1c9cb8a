// Leases: the periodic work of the control plane runs on exactly one replica at a time, the one whose
// row in `leases` is current. It renews the lease while it runs; when it stops renewing (it died), the
// lease lapses and another replica takes it.

import type { DbOrTx } from "./db.js";

/**
 * Takes or renews lease `name` for `holder` until `now + ttlMs`; true if `holder` holds it now. One
 * statement, so that two replicas racing for a free (or lapsed) lease cannot both win.
 */
export async function holdLease(db: DbOrTx, name: string, holder: string, now: Date, ttlMs: number): Promise<boolean> {
  const at = now.toISOString();
  const until = new Date(now.getTime() + ttlMs).toISOString();
  await db
    .insertInto("leases")
    .values({ name, holder, expires_at: until })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet({ holder, expires_at: until })
        .where((eb) => eb.or([eb("leases.holder", "=", holder), eb("leases.expires_at", "<", at)])),
    )
    .execute();
  const row = await db.selectFrom("leases").select("holder").where("name", "=", name).executeTakeFirst();
  return row?.holder === holder;
}

/** Gives the lease up at once (a replica that stops cleanly), so that another need not wait for it to lapse. */
export async function releaseLease(db: DbOrTx, name: string, holder: string): Promise<void> {
  await db.updateTable("leases").set({ expires_at: new Date(0).toISOString() }).where("name", "=", name).where("holder", "=", holder).execute();
}

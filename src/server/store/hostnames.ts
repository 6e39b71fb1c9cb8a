// The hostname pool: each name is held by at most one VM, taken in the deploy transaction and given back
// only once the VM is terminated (its node has deleted everything of it).

import type { Hostname } from "../../core/api.js";
import type { Page } from "../pages.js";
import { isPostgres, type DbOrTx } from "./db.js";

export interface TakenHostname {
  name: string;
  mac: string;
  extra: string;
}

/**
 * Takes the first free name of the pool for `vmId`, or undefined when none is free. One statement,
 * guarded by `vm_id is null`, so that two transactions that pick the same free name (PostgreSQL under
 * READ COMMITTED) can never both take it: the loser takes none, and tries again.
 */
export async function takeFreeHostname(db: DbOrTx, vmId: string): Promise<TakenHostname | undefined> {
  const firstFree = () =>
    db
      .selectFrom("hostnames as free")
      .select("free.name")
      .where("free.vm_id", "is", null)
      .where("free.removed_at", "is", null)
      .orderBy("free.name")
      .limit(1);
  const take = (skipLocked: boolean) =>
    db
      .updateTable("hostnames")
      .set({ vm_id: vmId })
      .where("name", "=", skipLocked ? firstFree().forUpdate().skipLocked() : firstFree())
      .where("vm_id", "is", null)
      .returning(["name", "mac", "extra"])
      .executeTakeFirst();
  // On PostgreSQL, concurrent deploys skip the free names others are taking (as takeSlot skips hosts).
  const postgres = isPostgres(db);
  for (;;) {
    const taken = (postgres ? await take(true) : undefined) ?? (await take(false));
    if (taken) return taken;
    if ((await firstFree().executeTakeFirst()) === undefined) return undefined;
  }
}

/** Gives the VM's name back to the pool; a name server.toml no longer lists goes for good. */
export async function releaseHostname(db: DbOrTx, vmId: string): Promise<void> {
  await db.deleteFrom("hostnames").where("vm_id", "=", vmId).where("removed_at", "is not", null).execute();
  await db.updateTable("hostnames").set({ vm_id: null }).where("vm_id", "=", vmId).execute();
}

/** A page of the pool, in name order, as admins see it. */
export async function listHostnames(db: DbOrTx, page: Page): Promise<Hostname[]> {
  let q = db.selectFrom("hostnames").select(["name", "mac", "extra", "vm_id"]).orderBy("name").limit(page.limit + 1);
  if (page.after !== undefined) q = q.where("name", ">", page.after[0]!);
  const rows = await q.execute();
  return rows.map((r) => ({ name: r.name, mac: r.mac, extra: r.extra, vmId: r.vm_id }));
}

// Writes the configured catalog (hosts, hostname pool, images, admins) into the store at start. The
// config file is the truth: what it no longer names is gone, except what VMs still hold, which is
// marked removed (never deleted under them) and keeps out of every new placement.

import { sql } from "kysely";
import type { ServerConfig } from "../config.js";
import type { Db, DbOrTx } from "./db.js";
import { imageColumns } from "./images.js";
import { hashSecret } from "./secrets.js";
import { setConfigAdmins } from "./users.js";

/** Rows per statement: far below SQLite's and PostgreSQL's limits on bound values. */
const CHUNK = 500;

export async function syncCatalog(db: Db, config: ServerConfig, now: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await syncHosts(tx, config, now);
    await syncHostnames(tx, config, now);
    await syncImages(tx, config, now);
    await setConfigAdmins(tx, config.admins, now);
  });
  // Fresh statistics of the tables placement reads: without them SQLite's planner takes the unique
  // vm_id index for "vm_id is null" and sorts every free name, where the partial index of free names
  // gives the first in one step (and PostgreSQL's may not have analysed a pool written just now).
  await sql`analyze hostnames`.execute(db);
  await sql`analyze hosts`.execute(db);
}

async function syncHosts(tx: DbOrTx, config: ServerConfig, now: string): Promise<void> {
  const listed = new Set(config.hosts.map((h) => h.name));
  for (const h of config.hosts) {
    const limits = { max_vms: h.maxVms, memory_mib: h.memoryMiB, cpus: h.cpus, token_hash: await hashSecret(tx, h.token) };
    await tx
      .insertInto("hosts")
      .values({
        name: h.name,
        ...limits,
        desired_version: 1,
        last_seen_at: null,
        ssh_host: null,
        node_memory_mib: null,
        node_cpus: null,
        removed_at: null,
        vm_count: 0,
        used_memory_mib: 0,
        used_cpus: 0,
        load: h.maxVms > 0 ? 0 : 1,
        online: 0,
      })
      .onConflict((oc) =>
        oc.column("name").doUpdateSet({
          ...limits,
          removed_at: null,
          load: sql`case when excluded.max_vms > 0 then hosts.vm_count * 1.0 / excluded.max_vms else 1 end`,
        }),
      )
      .execute();
  }
  const stored = await tx.selectFrom("hosts").select("name").where("removed_at", "is", null).execute();
  // A removed host's VMs stay listed on it; its secret stops working (no token hashes to "").
  for (const names of chunks(stored.map((r) => r.name).filter((n) => !listed.has(n)))) {
    await tx.updateTable("hosts").set({ token_hash: "", removed_at: now, online: 0 }).where("name", "in", names).execute();
  }
}

async function syncHostnames(tx: DbOrTx, config: ServerConfig, now: string): Promise<void> {
  const stored = new Map(
    (await tx.selectFrom("hostnames").select(["name", "extra", "mac", "vm_id", "removed_at"]).execute()).map((r) => [r.name, r]),
  );
  const fresh = config.hostnames.filter((n) => !stored.has(n.name));
  for (const rows of chunks(fresh)) {
    await tx.insertInto("hostnames").values(rows.map((n) => ({ ...n, vm_id: null, removed_at: null }))).execute();
  }
  for (const n of config.hostnames) {
    const row = stored.get(n.name);
    if (row && (row.extra !== n.extra || row.mac !== n.mac || row.removed_at !== null)) {
      await tx.updateTable("hostnames").set({ extra: n.extra, mac: n.mac, removed_at: null }).where("name", "=", n.name).execute();
    }
  }
  const listed = new Set(config.hostnames.map((n) => n.name));
  const gone = [...stored.values()].filter((r) => !listed.has(r.name));
  // A name no longer in the pool goes now if it is free, or once its VM lets it go.
  for (const names of chunks(gone.filter((r) => r.vm_id === null).map((r) => r.name))) {
    await tx.deleteFrom("hostnames").where("name", "in", names).execute();
  }
  for (const names of chunks(gone.filter((r) => r.vm_id !== null && r.removed_at === null).map((r) => r.name))) {
    await tx.updateTable("hostnames").set({ removed_at: now }).where("name", "in", names).execute();
  }
}

async function syncImages(tx: DbOrTx, config: ServerConfig, now: string): Promise<void> {
  const listed = new Set(config.images.map((i) => i.tag));
  for (const i of config.images) {
    await tx
      .insertInto("images")
      .values({ tag: i.tag, owner: null, removed_at: null, ...imageColumns(i) })
      .onConflict((oc) => oc.column("tag").doUpdateSet({ ...imageColumns(i), removed_at: null }))
      .execute();
  }
  // The catalog's own images only: users' saved images live in the store, not in server.toml.
  const stored = await tx.selectFrom("images").select("tag").where("owner", "is", null).where("removed_at", "is", null).execute();
  for (const tags of chunks(stored.map((r) => r.tag).filter((t) => !listed.has(t)))) {
    await tx.updateTable("images").set({ removed_at: now }).where("tag", "in", tags).execute();
  }
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

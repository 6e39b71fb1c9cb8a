// Writes the configured catalog (hosts, hostname pool, images, admins) into the store at start.

import { createHash } from "node:crypto";
import type { ServerConfig } from "../config.js";
import type { Db } from "./db.js";

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/**
 * Upserts what the config lists. Hosts and images that left the config stay in the store while VMs
 * still reference them; hostnames in use are never taken away from their VM.
 */
export async function syncCatalog(db: Db, config: ServerConfig, now: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (const h of config.hosts) {
      await tx
        .insertInto("hosts")
        .values({
          name: h.name,
          max_vms: h.maxVms,
          memory_mib: h.memoryMiB,
          cpus: h.cpus,
          token_hash: hashSecret(h.token),
          desired_version: 1,
          last_seen_at: null,
          ssh_host: null,
        })
        .onConflict((oc) =>
          oc.column("name").doUpdateSet({
            max_vms: h.maxVms,
            memory_mib: h.memoryMiB,
            cpus: h.cpus,
            token_hash: hashSecret(h.token),
          }),
        )
        .execute();
    }
    for (const n of config.hostnames) {
      await tx
        .insertInto("hostnames")
        .values({ name: n.name, extra: n.extra, mac: n.mac, vm_id: null })
        .onConflict((oc) => oc.column("name").doUpdateSet({ extra: n.extra, mac: n.mac }))
        .execute();
    }
    for (const i of config.images) {
      const row = {
        name: i.name,
        boot: i.boot,
        disk: i.disk,
        kernel: i.kernel,
        initrd: i.initrd,
        cmdline: i.cmdline,
        min_memory_mib: i.minMemoryMiB,
        default_memory_mib: i.defaultMemoryMiB,
        max_memory_mib: i.maxMemoryMiB,
        max_cpus: i.maxCpus,
      };
      await tx
        .insertInto("images")
        .values({ tag: i.tag, owner: null, ...row })
        .onConflict((oc) => oc.column("tag").doUpdateSet(row))
        .execute();
    }
    for (const admin of config.admins) {
      await tx
        .insertInto("users")
        .values({ name: admin, admin: 1, ssh_keys: "[]", max_vms: null, created_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet({ admin: 1 }))
        .execute();
    }
  });
}

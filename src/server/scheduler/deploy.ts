// Deploying a VM: validate the request, then in ONE transaction pick a host, take a hostname and store
// the VM as pending, so that concurrent requests can never overbook a host or share a hostname.

import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { Conflict, Invalid, Unavailable } from "../../core/errors.js";
import type { Vm } from "../../core/api.js";
import { HOLDING_STATES } from "../../core/vm-state.js";
import type { ServerConfig } from "../config.js";
import type { Db } from "../store/db.js";
import { findImage, visibleImages } from "../store/images.js";
import type { User } from "../store/users.js";
import { findVm, type DbOrTx } from "../store/vms.js";
import { couldEverFit, placeVm, type HostLoad } from "./placement.js";

export interface DeployRequest {
  image: string;
  memoryMiB?: number;
  cpus?: number;
  hours?: number;
  sshKeys?: string[];
}

export async function hostLoads(db: DbOrTx, config: ServerConfig, now: Date): Promise<HostLoad[]> {
  const onlineSince = new Date(now.getTime() - config.nodeOfflineAfterSeconds * 1000).toISOString();
  const rows = await db
    .selectFrom("hosts")
    .leftJoin("vms", (j) => j.onRef("vms.host", "=", "hosts.name").on("vms.state", "in", HOLDING_STATES))
    .select([
      "hosts.name",
      "hosts.max_vms",
      "hosts.memory_mib",
      "hosts.cpus",
      "hosts.last_seen_at",
      (eb) => eb.fn.count<number>("vms.id").as("vms"),
      (eb) => eb.fn.coalesce(eb.fn.sum<number>("vms.memory_mib"), sql<number>`0`).as("used_memory"),
      (eb) => eb.fn.coalesce(eb.fn.sum<number>("vms.cpus"), sql<number>`0`).as("used_cpus"),
    ])
    .groupBy(["hosts.name", "hosts.max_vms", "hosts.memory_mib", "hosts.cpus", "hosts.last_seen_at"])
    .execute();
  return rows.map((r) => ({
    name: r.name,
    online: r.last_seen_at !== null && r.last_seen_at >= onlineSince,
    maxVms: r.max_vms,
    vms: Number(r.vms),
    memoryMiB: Math.floor(r.memory_mib * config.overcommit.memory),
    usedMemoryMiB: Number(r.used_memory),
    cpus: Math.floor(r.cpus * config.overcommit.cpus),
    usedCpus: Number(r.used_cpus),
  }));
}

/** Returns the new VM (pending) and the host whose node must be told. */
export async function deployVm(
  db: Db,
  config: ServerConfig,
  user: User,
  req: DeployRequest,
  now: Date,
): Promise<Vm> {
  const image = await findImage(db, req.image, user.name);
  if (!image) {
    const known = (await visibleImages(db, user.name)).map((i) => i.tag);
    throw new Invalid("image", `image '${req.image}' is not in the catalog; known images: ${known.join(", ") || "none"}`);
  }
  const memoryMiB = req.memoryMiB ?? image.default_memory_mib;
  if (memoryMiB < image.min_memory_mib || memoryMiB > image.max_memory_mib) {
    throw new Invalid(
      "memoryMiB",
      `memoryMiB ${memoryMiB} is outside what image '${image.tag}' allows: ${image.min_memory_mib} to ${image.max_memory_mib}`,
    );
  }
  const cpus = req.cpus ?? 1;
  if (cpus > image.max_cpus) {
    throw new Invalid("cpus", `cpus ${cpus} is more than image '${image.tag}' allows: at most ${image.max_cpus}`);
  }
  const hours = req.hours ?? config.expiry.defaultHours;
  if (hours > config.expiry.maxHours) {
    throw new Invalid("hours", `hours ${hours} is more than the policy allows: at most ${config.expiry.maxHours}`);
  }
  const sshKeys = req.sshKeys ?? user.sshKeys;
  if (sshKeys.length === 0) {
    throw new Invalid(
      "sshKeys",
      "you have no ssh key, so nobody could log in to the VM: add one with PUT /api/v1/me/ssh-keys or pass sshKeys",
    );
  }
  const size = { memoryMiB, cpus };
  const id = randomUUID();
  const nowIso = now.toISOString();

  await db.transaction().execute(async (tx) => {
    const hosts = await hostLoads(tx, config, now);
    if (!couldEverFit(hosts, size)) {
      throw new Invalid("memoryMiB", `no host of the pool could ever fit ${memoryMiB} MiB and ${cpus} cpus`);
    }
    if (!hosts.some((h) => h.online)) {
      throw new Unavailable("no node is online to run the VM; start a node (vgrid node) or wait for it to connect");
    }
    await checkQuota(tx, config, user);
    const host = placeVm(hosts, size);
    if (!host) {
      throw new Conflict("no-capacity", `no online host has room for ${memoryMiB} MiB and ${cpus} cpus now; try again once a VM is terminated`);
    }
    const hostname = await tx
      .selectFrom("hostnames")
      .select(["name", "mac"])
      .where("vm_id", "is", null)
      .orderBy("name")
      .limit(1)
      .executeTakeFirst();
    if (!hostname) {
      throw new Conflict("pool-exhausted", "every hostname of the pool is in use; try again once a VM is terminated");
    }
    await tx.updateTable("hostnames").set({ vm_id: id }).where("name", "=", hostname.name).execute();
    await tx
      .insertInto("vms")
      .values({
        id,
        name: hostname.name,
        owner: user.name,
        image: image.tag,
        host: host.name,
        state: "pending",
        responding: 0,
        last_seen_at: null,
        memory_mib: memoryMiB,
        cpus,
        created_at: nowIso,
        expires_at: new Date(now.getTime() + hours * 3600_000).toISOString(),
        ssh_port: null,
        ip: null,
        mac: hostname.mac,
        error: null,
        ssh_keys: JSON.stringify(sshKeys),
        updated_at: nowIso,
      })
      .execute();
    await bumpDesiredVersion(tx, host.name);
  });
  const vm = await findVm(db, id);
  if (!vm) throw new Error(`vm ${id} vanished right after it was stored`);
  return vm;
}

async function checkQuota(tx: DbOrTx, config: ServerConfig, user: User): Promise<void> {
  const max = user.maxVms ?? config.quota.maxVmsPerUser;
  if (max === null) return;
  const { count } = await tx
    .selectFrom("vms")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("owner", "=", user.name)
    .where("state", "in", HOLDING_STATES)
    .executeTakeFirstOrThrow();
  if (Number(count) >= max) {
    throw new Conflict("quota-exceeded", `you have ${count} VMs, your quota is ${max}; terminate one first`);
  }
}

export async function bumpDesiredVersion(tx: DbOrTx, host: string): Promise<void> {
  await tx
    .updateTable("hosts")
    .set((eb) => ({ desired_version: eb("desired_version", "+", 1) }))
    .where("name", "=", host)
    .execute();
}

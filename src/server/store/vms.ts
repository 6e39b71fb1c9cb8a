// VM rows: reading them as the API's vm object, and the queries the routes and the node protocol share.

import { isSafeSshHost } from "../../core/protocol.js";
import type { Vm } from "../../core/api.js";
import type { VmState } from "../../core/vm-state.js";
import type { Db } from "./db.js";
import type { VmRow } from "./schema.js";

export type DbOrTx = Pick<Db, "selectFrom" | "updateTable" | "insertInto" | "deleteFrom">;

/**
 * The vm object of API.md. `sshHost` is the address clients use to reach the VM's node; one that is
 * not a plain host name or IP literal (stored before nodes' requests were checked) is never shown,
 * since `vgrid ssh` hands it to ssh.
 */
export function toVm(row: VmRow, sshHost: string | null): Vm {
  const reachable =
    row.ssh_port !== null &&
    sshHost !== null &&
    isSafeSshHost(sshHost) &&
    (row.state === "running" || row.state === "terminating");
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    image: row.image,
    host: row.host,
    state: row.state as VmState,
    responding: row.responding === 1,
    lastSeenAt: row.last_seen_at,
    memoryMiB: row.memory_mib,
    cpus: row.cpus,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    ssh: reachable ? { host: sshHost, port: row.ssh_port!, user: "root" } : null,
    ip: row.ip,
    mac: row.mac,
    error: row.error,
  };
}

function selectVmsWithHost(db: DbOrTx) {
  return db.selectFrom("vms").innerJoin("hosts", "hosts.name", "vms.host").selectAll("vms").select("hosts.ssh_host");
}

export async function findVm(db: DbOrTx, id: string): Promise<Vm | undefined> {
  const row = await selectVmsWithHost(db).where("vms.id", "=", id).executeTakeFirst();
  return row && toVm(row, row.ssh_host);
}

export interface VmFilter {
  owner?: string;
  terminated: boolean;
}

export async function listVms(db: DbOrTx, filter: VmFilter): Promise<Vm[]> {
  let q = selectVmsWithHost(db);
  if (filter.owner !== undefined) q = q.where("vms.owner", "=", filter.owner);
  q = filter.terminated ? q.where("vms.state", "=", "terminated") : q.where("vms.state", "!=", "terminated");
  const rows = await q.orderBy("vms.created_at").orderBy("vms.id").execute();
  return rows.map((r) => toVm(r, r.ssh_host));
}

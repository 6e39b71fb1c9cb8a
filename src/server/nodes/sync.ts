// The server side of the node protocol: apply what a node reports, then tell it what should run there.

import { Forbidden } from "../../core/errors.js";
import type { SyncRequest, SyncResponse, VmReport, VmSpec } from "../../core/protocol.js";
import { machineName } from "../../core/names.js";
import { HOLDING_STATES, desiredOf, nextState, type VmState } from "../../core/vm-state.js";
import { hashSecret } from "../store/catalog.js";
import type { Db } from "../store/db.js";
import type { DbOrTx } from "../store/vms.js";

/** The host a node token belongs to; a token of another host, or none, is refused. */
export async function authenticateNode(db: Db, nodeName: string, token: string | undefined): Promise<void> {
  const host = await db.selectFrom("hosts").select("token_hash").where("name", "=", nodeName).executeTakeFirst();
  if (!host || token === undefined || host.token_hash !== hashSecret(token)) {
    throw new Forbidden(`node '${nodeName}' is not in the host pool or its token is wrong`);
  }
}

/** Applies a node's reports; returns the ids of the VMs that changed (so watchers can be told). */
export async function applyReports(db: Db, req: SyncRequest, now: Date): Promise<string[]> {
  const nowIso = now.toISOString();
  const changed: string[] = [];
  await db.transaction().execute(async (tx) => {
    await tx
      .updateTable("hosts")
      .set({ last_seen_at: nowIso, ssh_host: req.sshHost })
      .where("name", "=", req.node)
      .execute();
    for (const report of req.reports) {
      if (await applyReport(tx, req.node, report, nowIso)) changed.push(report.id);
    }
  });
  return changed;
}

async function applyReport(tx: DbOrTx, host: string, report: VmReport, now: string): Promise<boolean> {
  // A node speaks only for the VMs placed on its own host.
  const vm = await tx
    .selectFrom("vms")
    .select(["state", "responding", "ssh_port", "error", "ip"])
    .where("id", "=", report.id)
    .where("host", "=", host)
    .executeTakeFirst();
  if (!vm) return false;
  const next = nextState(vm.state as VmState, report.state);
  const responding = next === "running" || next === "terminating" ? report.responding : false;
  const update = {
    state: next,
    responding: responding ? 1 : 0,
    ssh_port: next === "terminated" ? null : (report.sshPort ?? vm.ssh_port),
    ip: report.ip ?? vm.ip,
    error: errorAfter(vm, report),
  };
  const same =
    update.state === vm.state &&
    update.responding === vm.responding &&
    update.ssh_port === vm.ssh_port &&
    update.ip === vm.ip &&
    update.error === vm.error;
  if (responding) {
    await tx.updateTable("vms").set({ last_seen_at: now }).where("id", "=", report.id).execute();
  }
  if (same) return false;
  await tx.updateTable("vms").set({ ...update, updated_at: now }).where("id", "=", report.id).execute();
  if (next === "terminated") {
    // Only now, with QEMU reaped and the disks deleted, may the hostname go to another VM.
    await tx.updateTable("hostnames").set({ vm_id: null }).where("vm_id", "=", report.id).execute();
  }
  return true;
}

/**
 * The VM's `error` once the report is applied. A failure report gives its reason whatever the next
 * state (a terminating VM whose deletion fails shows why while it stays terminating); every other
 * report, and a failure report without a reason (a restarted node that no longer knows it), keeps the
 * reason already there. A terminated VM is history: nothing changes it.
 */
export function errorAfter(vm: { state: string; error: string | null }, report: Pick<VmReport, "state" | "error">): string | null {
  if (report.state !== "failed" || vm.state === "terminated") return vm.error;
  return report.error ?? vm.error ?? "the node reported a failure without a reason";
}

/** What should be on the host now: every VM placed there that is not terminated, with what to make of it. */
export async function desiredFor(db: Db, host: string): Promise<SyncResponse> {
  const hostRow = await db.selectFrom("hosts").select("desired_version").where("name", "=", host).executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom("vms")
    .innerJoin("images", "images.tag", "vms.image")
    .leftJoin("hostnames", "hostnames.vm_id", "vms.id")
    .select([
      "vms.id",
      "vms.name",
      "vms.owner",
      "vms.memory_mib",
      "vms.cpus",
      "vms.mac",
      "vms.ssh_keys",
      "vms.state",
      "hostnames.extra",
      "images.tag",
      "images.disk",
      "images.kernel",
      "images.initrd",
      "images.cmdline",
    ])
    .where("vms.host", "=", host)
    // Every VM that holds a slot here: a failed one too, so that its node keeps its files until terminated.
    .where("vms.state", "in", HOLDING_STATES)
    .orderBy("vms.created_at")
    .execute();
  const vms: VmSpec[] = [];
  for (const r of rows) {
    const desired = desiredOf(r.state as VmState);
    if (desired === undefined) continue;
    vms.push({
      id: r.id,
      machineName: machineName(r.id),
      hostname: r.name,
      extra: r.extra ?? "",
      mac: r.mac,
      owner: r.owner,
      memoryMiB: r.memory_mib,
      cpus: r.cpus,
      sshKeys: JSON.parse(r.ssh_keys) as string[],
      image: { tag: r.tag, disk: r.disk, kernel: r.kernel, initrd: r.initrd, cmdline: r.cmdline },
      desired,
    });
  }
  return { version: hostRow.desired_version, vms };
}

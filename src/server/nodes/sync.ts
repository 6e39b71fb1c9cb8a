// The server side of the node protocol: who a node is, what its reports change, and what should run on
// its host. A node speaks only for itself and for the VMs placed on its own host.

import { Forbidden, Unauthorized } from "../../core/errors.js";
import { machineName } from "../../core/names.js";
import type { SyncRequest, SyncResponse, VmReport, VmSpec } from "../../core/protocol.js";
import { parseSshPublicKey } from "../../core/ssh-keys.js";
import { desiredOf, nextState, type VmState } from "../../core/vm-state.js";
import type { ServerContext } from "../context.js";
import type { DbOrTx } from "../store/db.js";
import { releaseHostname } from "../store/hostnames.js";
import { desiredVersion, hostForTokenHash, recordSync, releaseSlot } from "../store/hosts.js";
import { publishHostVms } from "../events/host-vms.js";
import { hashSecret } from "../store/secrets.js";
import { recordHistory, type VmHistoryEntry } from "../store/vm-history.js";
import { appendToLog, logPositions } from "../store/vm-logs.js";
import { findVm, hostsOfVms, placedVms, updateVms, vmsOnHost, type ReportedVmRow, type VmChange } from "../store/vms.js";

/**
 * The host a node's secret belongs to, from the secret alone: it is checked before the body is read, so
 * that a caller without a host's secret costs no parsing. None, or one of no host in the pool, is a 401.
 */
export async function authenticateNode(db: DbOrTx, token: string | undefined): Promise<string> {
  if (token === undefined) {
    throw new Unauthorized("no credentials: a node sends 'Authorization: Bearer SECRET', its host's token in server.toml");
  }
  const host = await hostForTokenHash(db, await hashSecret(db, token));
  if (host === undefined) {
    throw new Unauthorized("this secret is no host's of the pool: check the node's token against its [[hosts]] entry in server.toml");
  }
  return host;
}

/** A node speaks only for its own host: a body naming another is refused (and logged by the caller). */
export function requireOwnHost(authenticated: string, req: SyncRequest): void {
  if (req.node !== authenticated) {
    throw new Forbidden(`this secret is host '${authenticated}''s; it cannot sync as '${req.node}': give each node its own host's token`);
  }
}

/**
 * Refuses reports (and console output) of VMs placed on another host: a node with one host's secret
 * must not move another's VMs, nor write their logs. Those of VMs the store does not know (left over
 * from another server) are only ignored.
 */
async function refuseForeignReports(ctx: ServerContext, tx: DbOrTx, req: SyncRequest, ids: readonly string[], own: ReadonlySet<string>): Promise<void> {
  const others = ids.filter((id) => !own.has(id));
  if (others.length === 0) return;
  const foreign = (await hostsOfVms(tx, others)).filter((vm) => vm.host !== req.node);
  if (foreign.length === 0) return;
  ctx.log.warn({ node: req.node, vms: foreign.map((v) => v.id), hosts: [...new Set(foreign.map((v) => v.host))] }, `node ${req.node} reported VMs of another host: refused`);
  throw new Forbidden(`node '${req.node}' reported ${foreign.length} VM(s) placed on another host (${foreign[0]!.id}...); a node reports only its own host's VMs`);
}

/** Applies a node's sync (it is online; its reports) in one transaction, then publishes the VMs that changed. */
export async function applySync(ctx: ServerContext, req: SyncRequest): Promise<string[]> {
  const now = ctx.now();
  const { changed, lastSeen, requestIds } = await ctx.db.transaction().execute(async (tx) => {
    const lastSeen = await recordSync(tx, req.node, { at: now, sshHost: req.sshHost, facts: req.facts });
    const ids = [...new Set([...req.reports.map((r) => r.id), ...(req.consoles ?? []).map((c) => c.id)])];
    const rows = new Map((await vmsOnHost(tx, req.node, ids)).map((r) => [r.id, r]));
    await refuseForeignReports(ctx, tx, req, ids, new Set(rows.keys()));
    // The consoles' bytes go into the logs in the same transaction: the answer's positions then count them.
    for (const chunk of req.consoles ?? []) {
      if (rows.has(chunk.id)) await appendToLog(tx, chunk.id, { stream: chunk.stream, offset: chunk.offset, bytes: Buffer.from(chunk.data, "base64") });
    }
    // A responding VM's last sighting is its node's last sync: nothing is written per VM while it
    // answers; only what changed is, in one statement for the whole sync.
    const changes: VmChange[] = [];
    for (const report of req.reports) {
      const row = rows.get(report.id);
      if (row === undefined) continue; // a VM this store does not know
      const change = reportChange(row, report);
      if (change === undefined) continue;
      // Stopped answering: it was last seen at the node's previous sync.
      const lastSeenAt = row.responding === 1 && change.responding === 0 ? (lastSeen ?? now.toISOString()) : undefined;
      changes.push({ id: report.id, ...change, ...(lastSeenAt ? { last_seen_at: lastSeenAt } : {}), updated_at: now.toISOString() });
    }
    await updateVms(tx, changes);
    await recordHistory(tx, historyOf(changes, rows, now));
    for (const change of changes) {
      // Only now, with QEMU reaped and the disks deleted, may the slot and the hostname go to another VM.
      if (change.state !== "terminated") continue;
      const row = rows.get(change.id)!;
      await releaseHostname(tx, change.id);
      await releaseSlot(tx, req.node, { memoryMiB: row.memory_mib, cpus: row.cpus });
    }
    return { changed: changes.map((c) => c.id), lastSeen, requestIds: new Map([...rows].map(([id, r]) => [id, r.request_id])) };
  });
  const offlineSince = now.getTime() - ctx.config.nodeOfflineAfterSeconds * 1000;
  if (lastSeen === null || Date.parse(lastSeen) < offlineSince) {
    ctx.log.info({ node: req.node, sshHost: req.sshHost, ...req.facts, lastSeen }, `node ${req.node} is online`);
    // Back from an outage: its VMs answer again as far as their watchers know (those that changed are published below too).
    if (lastSeen !== null) await publishHostVms(ctx, req.node);
  }
  for (const id of changed) {
    const vm = await findVm(ctx.db, id);
    if (vm) {
      ctx.hub.publishVm(vm);
      const reqId = requestIds.get(id) ?? undefined;
      ctx.log.info({ reqId, vm: vm.id, node: req.node, state: vm.state, responding: vm.responding, error: vm.error }, `vm ${vm.name} ${vm.state}`);
    }
  }
  return changed;
}

/**
 * The steps of the VMs' histories that a sync's changes make, all by `node`: each new state, and each
 * new error the node gives (a terminating VM whose deletion fails stays terminating, and says why).
 */
export function historyOf(changes: readonly VmChange[], rows: ReadonlyMap<string, ReportedVmRow>, at: Date): VmHistoryEntry[] {
  const steps: VmHistoryEntry[] = [];
  for (const change of changes) {
    const row = rows.get(change.id)!;
    const newError = change.error !== row.error ? change.error : null;
    const note = change.note ?? null;
    if (change.state === row.state && newError === null && note === null) continue;
    const state = change.state as VmState;
    steps.push({ vmId: change.id, at, state, by: "node", detail: state === "failed" ? change.error : (note ?? newError) });
  }
  return steps;
}

/** A VM answers ssh only while it runs (or runs on until its node stops it). */
function responds(state: VmState): boolean {
  return state === "running" || state === "terminating";
}

/** What the report changes in the VM's row, or undefined when it changes nothing. */
export function reportChange(row: ReportedVmRow, report: VmReport) {
  const current = row.state as VmState;
  const state = nextState(current, report.state);
  const failure = failureAfter({ state: current, error: row.error, detail: row.error_detail }, report);
  // A reboot the node says it carried out (never beyond what was asked: a report from another run).
  const rebootDone = report.rebooted !== undefined && report.rebooted > row.reboot_done ? Math.min(report.rebooted, row.reboot_asked) : row.reboot_done;
  const crashRestart = report.crashRestart ?? row.crash_restart;
  const note = crashRestart !== row.crash_restart ? crashRestart : rebootDone > row.reboot_done ? "rebooted" : null;
  const update = {
    state,
    node_state: report.state,
    crash_restart: crashRestart,
    reboot_done: rebootDone,
    note,
    responding: responds(state) && report.responding ? 1 : 0,
    ssh_port: state === "terminated" ? null : (report.sshPort ?? row.ssh_port),
    ip: state === "terminated" ? null : (report.ip ?? row.ip),
    error: failure.error,
    error_detail: failure.detail,
    ssh_host_keys: row.ssh_host_keys ?? acceptedHostKeys(report.sshHostKeys),
  };
  const same =
    update.state === row.state &&
    update.responding === row.responding &&
    update.ssh_port === row.ssh_port &&
    update.ip === row.ip &&
    update.error === row.error &&
    update.error_detail === row.error_detail &&
    update.ssh_host_keys === row.ssh_host_keys &&
    update.node_state === row.node_state &&
    update.crash_restart === row.crash_restart &&
    update.reboot_done === row.reboot_done;
  return same ? undefined : update;
}

/**
 * The guest's host keys as the store keeps them (JSON of `type base64`), from what the node read of the
 * guest: only well-formed public keys of the allowed types, their comments dropped; null when none.
 * The first keys heard are kept for good (the caller never replaces them), so a guest's later console
 * output cannot change what `vgrid ssh` trusts.
 */
export function acceptedHostKeys(reported: readonly string[] | undefined): string | null {
  const keys: string[] = [];
  for (const line of reported ?? []) {
    try {
      keys.push(parseSshPublicKey(line, keys.length).split(" ").slice(0, 2).join(" "));
    } catch {
      // a line that is not a public key is not trusted as one
    }
  }
  return keys.length === 0 ? null : JSON.stringify([...new Set(keys)]);
}

/**
 * The VM's `error` (for its owner) and `detail` (for admins) once the report is applied. A failure
 * report gives its reason whatever the next state (a terminating VM whose deletion fails shows why
 * while it stays terminating); every other report, and a failure report without a reason (a restarted
 * node that no longer knows it), keeps the reason already there. A terminated VM is history.
 */
export function failureAfter(
  vm: { state: VmState; error: string | null; detail: string | null },
  report: Pick<VmReport, "state" | "error" | "detail">,
): { error: string | null; detail: string | null } {
  if (report.state !== "failed" || vm.state === "terminated") return { error: vm.error, detail: vm.detail };
  if (report.error === null) {
    return { error: vm.error ?? "the node reported a failure without a reason", detail: vm.detail };
  }
  return { error: report.error, detail: report.detail };
}

/**
 * The answer to sync `req`: `desired`, and where the server's copy of each of its VMs' consoles ends
 * when the node sent console output (a node that sends none knows no `consoles` in an answer).
 */
export async function answerTo(db: DbOrTx, req: SyncRequest, desired: SyncResponse): Promise<SyncResponse> {
  if (req.consoles === undefined) return desired;
  return { ...desired, consoles: await logPositions(db, desired.vms.map((v) => v.id)) };
}

/** What should be on the host now: every VM placed there that holds a slot, with what to make of it. */
export async function desiredFor(db: DbOrTx, host: string): Promise<SyncResponse> {
  const version = await desiredVersion(db, host);
  const vms: VmSpec[] = [];
  for (const r of await placedVms(db, host)) {
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
      image: { tag: r.tag, disk: r.disk, kernel: r.kernel, initrd: r.initrd, cmdline: r.cmdline, restartOnCrash: r.restart_on_crash === 1 },
      desired,
      ...(desired === "stopped" && r.force_stop === 1 ? { forceStop: true } : {}),
      ...(desired === "running" && r.reboot_asked > r.reboot_done ? { reboot: { generation: r.reboot_asked, force: r.reboot_force === 1 } } : {}),
      requestId: r.request_id,
    });
  }
  return { version, vms };
}

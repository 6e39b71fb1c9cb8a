// STAND-IN for the power actions (the `power` branch: stop and start of a VM). Until that branch lands,
// the grace period stops and starts a VM through these two functions; on merge, point them at its stop
// and start (keeping the state `expired`, which its `stopped` sits beside) and delete this file.
// Both run in the caller's transaction and tell the VM's node (its desired version).

import type { DbOrTx } from "../store/db.js";
import { bumpDesiredVersion } from "../store/hosts.js";

/** The states the grace period may stop a VM from. */
const STOPPABLE = ["pending", "provisioning", "running", "failed"];

/** Puts a VM in `expired`: the node stops it (desired `stopped`) and keeps its disk; false if it was in no such state. */
export async function stopForGrace(tx: DbOrTx, id: string, host: string, at: Date): Promise<boolean> {
  const result = await tx
    .updateTable("vms")
    .set({ state: "expired", responding: 0, updated_at: at.toISOString() })
    .where("id", "=", id)
    .where("state", "in", STOPPABLE)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return false;
  await bumpDesiredVersion(tx, host);
  return true;
}

/** Starts an expired VM again (it was extended): the node boots it from its kept disk; false if it was not expired. */
export async function startAfterGrace(tx: DbOrTx, id: string, host: string, at: Date): Promise<boolean> {
  const result = await tx
    .updateTable("vms")
    .set({ state: "provisioning", updated_at: at.toISOString() })
    .where("id", "=", id)
    .where("state", "=", "expired")
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return false;
  await bumpDesiredVersion(tx, host);
  return true;
}

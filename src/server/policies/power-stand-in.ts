// STAND-IN for the power actions (the `power` branch: stop and start of a VM). Until that branch lands,
// the grace period stops and starts a VM through these two functions; on merge, point them at its stop
// and start (keeping the state `expired`, which its `stopped` sits beside) and delete this file.
// Both run in the caller's transaction and tell the VM's node (its desired version).
// Known gap until then, on the node's side: today's agent stops a VM whose desired state is `stopped`
// with its failed-VM path (it reports it `failed`, which an expired VM ignores) and never boots such a
// VM again when the desired state turns back to `running`; so an expired VM that is extended is
// `provisioning` on the server and stays stopped on a real node (its next report fails it). The power
// branch's start brings the agent's side; the server's side here is what the merge points at it.

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

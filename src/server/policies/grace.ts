// The grace period's power moves (`[expiry] graceHours`), on the power actions' own store move: an
// expired VM is stopped by its node like a stopped one (ACPI, then forced; its disk kept), and an
// extension boots it again from its own disk. Both run in the caller's transaction, which writes the
// history and audit rows, and tell the VM's node (its desired version).

import type { VmState } from "../../core/vm-state.js";
import type { DbOrTx } from "../store/db.js";
import { bumpDesiredVersion } from "../store/hosts.js";
import { movePower } from "../store/vms.js";

/** The states the grace period may stop a VM from (a stopped VM expires too: its disk is kept as it was). */
const EXPIRABLE: readonly VmState[] = ["pending", "provisioning", "running", "stopped", "failed"];

/** Puts a VM in `expired`; false if it was in no state to be. */
export async function stopForGrace(tx: DbOrTx, id: string, host: string, at: Date): Promise<boolean> {
  if (!(await movePower(tx, id, EXPIRABLE, "expired", at, { forceStop: false }))) return false;
  await bumpDesiredVersion(tx, host);
  return true;
}

/** Starts an expired VM again (it was extended): its node boots it from its kept disk; false if it was not expired. */
export async function startAfterGrace(tx: DbOrTx, id: string, host: string, at: Date): Promise<boolean> {
  if (!(await movePower(tx, id, ["expired"], "provisioning", at))) return false;
  await bumpDesiredVersion(tx, host);
  return true;
}

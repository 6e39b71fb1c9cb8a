// Owner and admin actions on an existing VM: terminate and extend. The node does the real work.

import { Conflict, Invalid, NotFound } from "../../core/errors.js";
import { isVmId } from "../../core/names.js";
import type { Vm } from "../../core/api.js";
import type { ServerConfig } from "../config.js";
import type { Db } from "../store/db.js";
import type { User } from "../store/users.js";
import { findVm } from "../store/vms.js";
import { bumpDesiredVersion } from "./deploy.js";

/** The VM if the user may see it: another user's VM is a 404 for a non-admin, like a missing one. */
export async function visibleVm(db: Db, user: User, id: string): Promise<Vm> {
  const vm = isVmId(id) ? await findVm(db, id) : undefined;
  if (!vm || (!user.admin && vm.owner !== user.name)) throw new NotFound(`no VM with id '${id}' is yours`);
  return vm;
}

/** Marks the VM terminating; the hostname is released only once its node confirms. Idempotent. */
export async function terminateVm(db: Db, user: User, id: string, now: Date): Promise<Vm> {
  const vm = await visibleVm(db, user, id);
  if (vm.state === "terminated") throw new Conflict("wrong-state", `VM ${vm.name} is already terminated`);
  if (vm.state !== "terminating") {
    await db.transaction().execute(async (tx) => {
      await tx
        .updateTable("vms")
        .set({ state: "terminating", updated_at: now.toISOString() })
        .where("id", "=", vm.id)
        .where("state", "!=", "terminated")
        .execute();
      await bumpDesiredVersion(tx, vm.host);
    });
  }
  return (await findVm(db, vm.id))!;
}

export async function extendVm(db: Db, config: ServerConfig, user: User, id: string, hours: number, now: Date): Promise<Vm> {
  const vm = await visibleVm(db, user, id);
  if (vm.state === "terminated" || vm.state === "terminating") {
    throw new Conflict("wrong-state", `VM ${vm.name} is ${vm.state}; only a live VM can be extended`);
  }
  if (hours > config.expiry.maxHours) {
    throw new Invalid("hours", `hours ${hours} is more than the policy allows: at most ${config.expiry.maxHours} from now`);
  }
  const expiresAt = new Date(now.getTime() + hours * 3600_000).toISOString();
  await db.updateTable("vms").set({ expires_at: expiresAt, updated_at: now.toISOString() }).where("id", "=", vm.id).execute();
  return (await findVm(db, vm.id))!;
}

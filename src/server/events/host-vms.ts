// A host's VMs published to their watchers at once, when its node goes offline or comes back: each
// VM's `responding` follows its node's (store/vms.ts toVm), though no VM row changed.

import type { ServerContext } from "../context.js";
import { findVms, placedVms } from "../store/vms.js";

export async function publishHostVms(ctx: ServerContext, host: string): Promise<void> {
  const ids = (await placedVms(ctx.db, host)).map((vm) => vm.id);
  for (const vm of await findVms(ctx.db, ids)) ctx.hub.publishVm(vm);
}

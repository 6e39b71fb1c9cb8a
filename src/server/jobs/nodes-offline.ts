// The job that marks nodes offline once they have been silent longer than nodeOfflineAfterSeconds:
// placement's index then skips them without looking, and the log says which node went.

import type { ServerContext } from "../context.js";
import { markOffline } from "../store/hosts.js";
import { loadOptions } from "../vms/service.js";
import type { PeriodicJob } from "./periodic.js";

export const nodesOffline: PeriodicJob = {
  name: "nodes-offline",
  async run(ctx: ServerContext, now: Date) {
    for (const node of await markOffline(ctx.db, loadOptions(ctx, now))) {
      ctx.log.info({ node }, `node ${node} is offline (silent for more than ${ctx.config.nodeOfflineAfterSeconds} s)`);
    }
  },
};

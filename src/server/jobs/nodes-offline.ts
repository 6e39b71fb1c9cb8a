// The job that marks nodes offline once they have been silent longer than nodeOfflineAfterSeconds:
// placement's index then skips them without looking, the log says which node went, and the [mail]
// admins get one node-offline mail per outage, queued in the transaction that marks it. Nothing of its
// VMs is deleted or placed elsewhere: they show as not responding until the node comes back.

import type { ServerContext } from "../context.js";
import { nodeOfflineMails } from "../policies/mails.js";
import { markOffline } from "../store/hosts.js";
import { enqueueMail } from "../store/outbox.js";
import { publishHostVms } from "../events/host-vms.js";
import { loadOptions } from "../vms/service.js";
import type { PeriodicJob } from "./periodic.js";

export const nodesOffline: PeriodicJob = {
  name: "nodes-offline",
  async run(ctx: ServerContext, now: Date) {
    const gone = await ctx.writes.run(async (tx) => {
      const silent = await markOffline(tx, loadOptions(ctx, now));
      for (const node of silent) {
        for (const mail of nodeOfflineMails(ctx, node.name, node.lastSeenAt, now)) await enqueueMail(tx, mail, now);
      }
      return silent;
    });
    for (const node of gone) {
      ctx.log.info({ node: node.name }, `node ${node.name} is offline (silent for more than ${ctx.config.nodeOfflineAfterSeconds} s)`);
      await publishHostVms(ctx, node.name);
    }
  },
};

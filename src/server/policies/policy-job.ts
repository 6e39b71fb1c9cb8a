// The policy pass as a periodic job: on the replica that holds the periodic lease, every [policy]
// interval, the expiry policy (warnings, expiry, grace) and the liveness mails, each over the VMs due
// only. A pass may run twice, or on two replicas at once: every decision is re-checked on its locked
// row, and every mail is once per key.

import type { PeriodicJob } from "../jobs/periodic.js";
import { runExpiryPass } from "./expiry-pass.js";
import { runLivenessPass } from "./liveness-pass.js";

export const policyPass: PeriodicJob = {
  name: "policies",
  everyMs: (ctx) => ctx.config.policy.intervalSeconds * 1000,
  async run(ctx, now) {
    const expiry = await runExpiryPass(ctx, now);
    const liveness = await runLivenessPass(ctx, now);
    const done = { ...expiry, ...liveness };
    if (Object.values(done).some((n) => n > 0)) ctx.log.info(done, "policy pass");
  },
};

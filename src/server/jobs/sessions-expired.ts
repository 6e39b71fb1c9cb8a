// The job that removes the sessions and login links past their end: a session is refused once it has
// ended anyway (store/sessions.ts); this keeps the tables as small as the sessions that live.

import type { ServerContext } from "../context.js";
import { dropExpiredLogins } from "../store/sessions.js";
import type { PeriodicJob } from "./periodic.js";

export const sessionsExpired: PeriodicJob = {
  name: "sessions-expired",
  async run(ctx: ServerContext, now: Date) {
    const dropped = await dropExpiredLogins(ctx.db, now, ctx.config.sessions.idleMinutes);
    if (dropped > 0) ctx.log.debug({ dropped }, "expired sessions and login links removed");
  },
};

// What every part of the server is handed: the store, the settings, the notification hub and the clock.

import type { FastifyBaseLogger } from "fastify";
import type { ServerConfig } from "./config.js";
import type { Hub } from "./events/hub.js";
import type { Db } from "./store/db.js";

export interface ServerContext {
  db: Db;
  config: ServerConfig;
  hub: Hub;
  now: () => Date;
  /** Set by `vgrid up`: /readyz then also waits for this host's node to be online. */
  localHost?: string;
  log?: FastifyBaseLogger;
}

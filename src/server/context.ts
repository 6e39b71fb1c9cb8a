// What every part of the server is handed: the store, the settings, the notification hub, the clock
// and the log.

import type { Logger } from "pino";
import type { ServerConfig } from "./config.js";
import type { Bus } from "./events/bus.js";
import type { Hub } from "./events/hub.js";
import type { Metrics } from "./metrics.js";
import type { Db } from "./store/db.js";
import type { GroupCommit } from "./store/group-commit.js";

export interface ServerContext {
  db: Db;
  /** How changes are written: one transaction each, grouped into shared commits on SQLite. */
  writes: GroupCommit;
  config: ServerConfig;
  hub: Hub;
  now: () => Date;
  /** One line per meaningful event (a VM changed, a node came or went), never one per request. */
  log: Logger;
  metrics: Metrics;
  /** The other replicas' changes (PostgreSQL); none on SQLite, where there is one server. */
  bus?: Bus;
  /** This server's id among replicas (random per process): who holds a lease. */
  replica: string;
  /** The address this server listens on (set once it does): mails' links use it when there is no publicUrl. */
  listenUrl?: string;
  /** Set by `vgrid up`: /readyz then also waits for this host's node to be online. */
  localHost?: string;
}

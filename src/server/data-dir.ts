// The files of a `vgrid up` data directory, each named once.

import { join } from "node:path";

export function dataPaths(dir: string) {
  return {
    /** The embedded SQLite store. */
    database: join(dir, "vgrid.db"),
    /** The local node's VM directories. */
    nodeState: join(dir, "node"),
    /** The admin token `vgrid up` printed, kept so that a restart prints the same one. */
    adminToken: join(dir, "admin.token"),
  };
}

// The server's store opened directly, for the commands that work on the server machine (token create,
// user set): the data dir of `vgrid up`, or the database a server.toml names.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { loadServerConfig } from "../server/config.js";
import { dataPaths } from "../server/data-dir.js";
import { openStore, type Db, type StoreLocation } from "../server/store/db.js";
import { Failure, UsageError } from "./errors.js";

/** The `--data DIR | --config FILE` flags these commands share. */
export const STORE_FLAGS = { data: { type: "string" }, config: { type: "string" } } as const;

/** Runs `work` on the store the flags point at, and closes it however `work` ends. */
export async function withServerStore<T>(flags: { data?: string | undefined; config?: string | undefined }, work: (db: Db) => Promise<T>): Promise<T> {
  if (flags.data !== undefined && flags.config !== undefined) throw new UsageError("give --data or --config, not both");
  const location: StoreLocation =
    flags.config !== undefined
      ? (await loadServerConfig(flags.config)).database
      : { kind: "sqlite", file: dataPaths(resolve(flags.data ?? "./vgrid-data")).database };
  if (location.kind === "sqlite" && !existsSync(location.file)) {
    throw new Failure(`no vgrid database at ${location.file}: start the server once (vgrid up --data DIR) or pass --data/--config`);
  }
  const db = await openStore(location);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

// `vgrid login-link`: works on the server's store directly, on the server machine, like token create;
// prints a one-time URL that logs a browser in as the user (single use, valid 15 minutes).

import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { normalizeUsername } from "../../core/names.js";
import { loadServerConfig } from "../../server/config.js";
import { dataPaths } from "../../server/data-dir.js";
import { LOGIN_LINK_MINUTES, createLoginLink } from "../../server/store/sessions.js";
import { ensureUser } from "../../server/store/users.js";
import { parseCommand } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { STORE_FLAGS, withServerStore } from "../server-store.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { user: { type: "string" }, admin: { type: "boolean", default: false }, ...STORE_FLAGS });
  if (values.user === undefined) throw new UsageError("missing --user NAME");
  const name = normalizeUsername(values.user);
  const base = await portalUrl(values);
  await withServerStore(values, async (db) => {
    const now = new Date();
    await ensureUser(db, name, values.admin, now.toISOString());
    const secret = await createLoginLink(db, name, values.admin, now);
    io.err(`a login link for ${name}${values.admin ? " (admin)" : ""}, good once, for ${LOGIN_LINK_MINUTES} minutes:`);
    io.out(`${base}/auth/link/${secret}`);
  });
  return 0;
}

/** Where browsers reach the portal: server.toml's publicUrl or listen address, or what `vgrid up` recorded. */
async function portalUrl(flags: { data?: string | undefined; config?: string | undefined }): Promise<string> {
  if (flags.config !== undefined) {
    const config = await loadServerConfig(flags.config);
    if (config.publicUrl !== undefined) return config.publicUrl;
    const { host, port } = config.listen;
    return `http://${host === "0.0.0.0" || host === "::" ? hostname() : host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  const dir = resolve(flags.data ?? "./vgrid-data");
  try {
    return (await readFile(dataPaths(dir).url, "utf8")).trim();
  } catch {
    throw new Failure(`no vgrid up has recorded its address in ${dir}: start it (vgrid up --data ${dir}) or pass --config server.toml`);
  }
}

// `vgrid token create`: the one command that works on the server's store directly, on the server machine.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { normalizeUsername } from "../../core/names.js";
import { dataPaths } from "../../server/data-dir.js";
import { openSqliteStore } from "../../server/store/db.js";
import { ensureUser, issueToken } from "../../server/store/users.js";
import { parseCommand } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import { loadServerConfig } from "../../server/config.js";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, {
    user: { type: "string" },
    admin: { type: "boolean", default: false },
    data: { type: "string" },
    config: { type: "string" },
    name: { type: "string", default: "cli" },
  });
  if (values.user === undefined) throw new UsageError("missing --user NAME");
  if (values.data !== undefined && values.config !== undefined) throw new UsageError("give --data or --config, not both");
  const file =
    values.config !== undefined
      ? (await loadServerConfig(values.config)).database.file
      : dataPaths(resolve(values.data ?? "./vgrid-data")).database;
  if (!existsSync(file)) {
    throw new Failure(`no vgrid database at ${file}: start the server once (vgrid up --data DIR) or pass --data/--config`);
  }
  const name = normalizeUsername(values.user);
  const db = await openSqliteStore(file);
  try {
    const now = new Date().toISOString();
    await ensureUser(db, name, values.admin, now);
    const token = await issueToken(db, name, values.name, now);
    process.stderr.write(`token for ${name}${values.admin ? " (admin)" : ""}:\n`);
    process.stdout.write(`${token.secret}\n`);
  } finally {
    await db.destroy();
  }
  return 0;
}

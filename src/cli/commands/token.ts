// `vgrid token create`: works on the server's store directly, on the server machine.

import { normalizeUsername } from "../../core/names.js";
import { ensureUser, issueToken } from "../../server/store/users.js";
import { parseCommand } from "../args.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { STORE_FLAGS, withServerStore } from "../server-store.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, {
    user: { type: "string" },
    admin: { type: "boolean", default: false },
    name: { type: "string", default: "cli" },
    ...STORE_FLAGS,
  });
  if (values.user === undefined) throw new UsageError("missing --user NAME");
  const name = normalizeUsername(values.user);
  await withServerStore(values, async (db) => {
    const now = new Date().toISOString();
    await ensureUser(db, name, values.admin, now);
    const token = await issueToken(db, name, values.name, now);
    io.err(`token for ${name}${values.admin ? " (admin)" : ""}:`);
    io.out(token.secret);
  });
  return 0;
}

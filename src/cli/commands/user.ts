// `vgrid user set NAME --admin | --no-admin`: promotes a user in the server's store, or ends that
// promotion (an admin listed in server.toml stays one while listed), on the server machine.

import { normalizeUsername } from "../../core/names.js";
import { findUser, setStoreAdmin } from "../../server/store/users.js";
import { parseCommand } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { STORE_FLAGS, withServerStore } from "../server-store.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    { admin: { type: "boolean" }, "no-admin": { type: "boolean" }, ...STORE_FLAGS },
    ["NAME"],
  );
  if (values.admin === values["no-admin"]) throw new UsageError("give exactly one of --admin or --no-admin");
  const name = normalizeUsername(positionals[0] ?? "");
  const admin = values.admin === true;
  await withServerStore(values, async (db) => {
    if (!(await setStoreAdmin(db, name, admin))) {
      throw new Failure(`no user '${name}' in the store; \`vgrid token create --user ${name}\` makes one`);
    }
    const user = await findUser(db, name);
    const still = !admin && user?.admin === true ? " (still an admin: server.toml's admins lists them)" : "";
    io.err(`${name} is ${admin ? "now an admin" : "no longer an admin in the store"}${still}`);
  });
  return 0;
}

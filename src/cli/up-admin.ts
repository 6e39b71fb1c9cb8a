// vgrid up's admin: a token printed once, at the first start, and the ssh keys of the person who runs
// vgrid up, so that the first deploy works as printed.

import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseSshPublicKey } from "../core/ssh-keys.js";
import type { Db } from "../server/store/db.js";
import { countTokens, findUser, issueToken, saveSshKeys } from "../server/store/users.js";

export interface AdminWelcome {
  /** The admin's new token: only at the first start on a data dir, never again. */
  token: string | null;
  /** The .pub files whose keys were given to the admin now (none when the admin had keys already). */
  keyFiles: string[];
  /** Whether the admin has at least one key. */
  hasKeys: boolean;
}

export async function prepareAdmin(db: Db, admin: string, home = homedir()): Promise<AdminWelcome> {
  const now = new Date().toISOString();
  const token = (await countTokens(db, admin)) === 0 ? (await issueToken(db, admin, "vgrid up", now)).secret : null;
  const user = await findUser(db, admin);
  if (user === undefined) throw new Error(`vgrid up's admin '${admin}' is not in the store`);
  if (user.sshKeys.length > 0) return { token, keyFiles: [], hasKeys: true };
  const found = await localPublicKeys(home);
  if (found.length > 0) await saveSshKeys(db, admin, found.map((k) => k.key));
  return { token, keyFiles: found.map((k) => k.file), hasKeys: found.length > 0 };
}

/** The valid public keys in ~/.ssh/*.pub (a file that is not one is skipped). */
async function localPublicKeys(home: string): Promise<Array<{ file: string; key: string }>> {
  const dir = join(home, ".ssh");
  const names = await readdir(dir).catch(() => [] as string[]);
  const keys: Array<{ file: string; key: string }> = [];
  for (const name of names.filter((n) => n.endsWith(".pub")).sort()) {
    const file = join(dir, name);
    try {
      keys.push({ file, key: parseSshPublicKey((await readFile(file, "utf8")).trim(), keys.length) });
    } catch {
      // not a public key (or unreadable): not one to give root on the admin's VMs
    }
  }
  return keys;
}

// An Apache password file, as the seed used it: `user:hash` lines with bcrypt ($2y$), apr1-MD5
// ($apr1$), SHA-1 ({SHA}) or DES crypt entries, as Apache's own `htpasswd` writes them. The file is
// read again whenever it changes (checked at each use: a user taken out is out at once).

import apacheMd5 from "apache-md5";
import crypt from "apache-crypt";
import bcrypt from "bcryptjs";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ConfigError } from "../../core/errors.js";
import { normalizeUsername } from "../../core/names.js";

export interface PasswordFile {
  /** Whether `password` is the (normalised) user's; false for a user the file does not list. */
  verify(user: string, password: string): Promise<boolean>;
  /** Whether the file lists the user now. */
  has(user: string): Promise<boolean>;
}

// apache-md5 is CommonJS whose types say `export default`: Node hands the function itself over.
const aprMd5 = apacheMd5 as unknown as (password: string, salt: string) => string;

/**
 * A bcrypt hash of nothing anyone types, at the highest cost the file uses: checked for unknown users,
 * so that they take as long as a known one and the timing tells no one which names exist.
 */
function decoyFor(entries: Map<string, string>): string {
  let cost = 5;
  for (const hash of entries.values()) {
    const m = /^\$2[abxy]\$(\d\d)\$/.exec(hash);
    if (m) cost = Math.max(cost, Number(m[1]));
  }
  let decoy = decoys.get(cost);
  if (decoy === undefined) {
    decoy = bcrypt.hashSync("vgrid decoy: no user has this password", Math.min(cost, 15));
    decoys.set(cost, decoy);
  }
  return decoy;
}
const decoys = new Map<number, string>();

/** The file at `path`, read now (a missing or unreadable file is a ConfigError naming `key`). */
export async function openPasswordFile(path: string, configFile: string, key = "auth.htpasswd.file"): Promise<PasswordFile> {
  let entries = new Map<string, string>();
  let stamp = "";
  const load = async (): Promise<void> => {
    const s = await stat(path);
    const now = `${s.ino}:${s.size}:${s.mtimeMs}`;
    if (now === stamp) return;
    entries = parseHtpasswd(await readFile(path, "utf8"));
    stamp = now;
  };
  try {
    await load();
  } catch (err) {
    throw new ConfigError(configFile, key, `cannot read the password file ${path}: ${(err as Error).message}`);
  }
  // A file that cannot be read for a moment (being rewritten, a permission slip) keeps its last
  // good entries: a passing error must not take every user out of the directory (and end their
  // sessions). It is read again at the next use.
  const current = async (): Promise<Map<string, string>> => {
    try {
      await load();
    } catch {
      stamp = "";
    }
    return entries;
  };
  return {
    async verify(user, password) {
      const hash = (await current()).get(user);
      if (hash === undefined) {
        await bcrypt.compare(password, decoyFor(entries));
        return false;
      }
      return checkPassword(password, hash);
    },
    async has(user) {
      return (await current()).has(user);
    },
  };
}

/**
 * `user:hash` lines, keyed by the user vgrid makes of each name (spaces become underscores, as the
 * seed made REMOTE_USER into a username): `Ada Lovelace` in the file is the user Ada_Lovelace. Blank
 * lines, `#` comments and names vgrid cannot take are skipped; the first entry of a user wins, as in
 * Apache.
 */
export function parseHtpasswd(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    let user: string;
    try {
      user = normalizeUsername(line.slice(0, colon));
    } catch {
      continue;
    }
    if (!entries.has(user)) entries.set(user, line.slice(colon + 1));
  }
  return entries;
}

/** Whether `password` matches an htpasswd `hash` of any of the formats Apache writes. */
export async function checkPassword(password: string, hash: string): Promise<boolean> {
  if (/^\$2[abxy]\$/.test(hash)) return bcrypt.compare(password, hash.replace(/^\$2y\$/, "$2b$"));
  if (hash.startsWith("$apr1$")) return same(aprMd5(password, hash), hash);
  if (hash.startsWith("{SHA}")) return same(`{SHA}${createHash("sha1").update(password).digest("base64")}`, hash);
  // Traditional crypt: 13 characters of the crypt alphabet, the salt its first two.
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return same(crypt(password, hash.slice(0, 2)), hash);
  // Plain text and the formats Apache on Linux does not write are never matched.
  return false;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

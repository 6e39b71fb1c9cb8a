// What the CLI keeps on the user's own machine, in ~/.config/vgrid (or $XDG_CONFIG_HOME/vgrid): the
// private keys the user named (`keys add`, `deploy --ssh-key`), which `vgrid ssh` offers when ssh would
// not find them by itself, and the VMs' host keys, which ssh checks with no first-use question.

import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Failure } from "./errors.js";

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "vgrid");
}

const IDENTITIES = "identities.json";
export const KNOWN_HOSTS = "known_hosts";

/** A public key as the user named it: its one line, and the private key beside it, when there is one. */
export interface KeyFile {
  publicKey: string;
  privateKey: string | null;
}

/**
 * Reads the key FILE names: a `.pub` file, or a private key with its `.pub` beside it (as ssh-keygen
 * leaves them). Refused with a line that says what to give instead.
 */
export async function readKeyFile(file: string): Promise<KeyFile> {
  const path = resolve(file);
  const pub = path.endsWith(".pub") ? path : `${path}.pub`;
  let text: string;
  try {
    text = await readFile(pub, "utf8");
  } catch {
    const hint = existsSync(path) && !path.endsWith(".pub") ? ` (${file} looks like a private key: its ${pub} is missing)` : "";
    throw new Failure(`cannot read the public key ${pub}${hint}; make one with: ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519`);
  }
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("#"));
  if (lines.length !== 1) throw new Failure(`${pub} should hold one public key line, not ${lines.length}`);
  const privateKey = pub.slice(0, -".pub".length);
  return { publicKey: lines[0]!, privateKey: existsSync(privateKey) ? privateKey : null };
}

/** Remembers the private key of KEY so that `vgrid ssh` offers it. */
export async function rememberIdentity(key: KeyFile, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (key.privateKey === null) return;
  const known = await identities(env);
  if (known.includes(key.privateKey)) return;
  const file = join(configDir(env), IDENTITIES);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify([...known, key.privateKey], null, 2)}\n`, { mode: 0o600 });
}

/** The private keys the user named, those that still exist. */
export async function identities(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  try {
    const list = JSON.parse(await readFile(join(configDir(env), IDENTITIES), "utf8")) as unknown;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === "string" && existsSync(p)) : [];
  } catch {
    return [];
  }
}

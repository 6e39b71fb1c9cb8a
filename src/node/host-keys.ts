// The guest's ssh host keys, read from what it printed on its console at boot between cloud-init's
// markers (cloud-init's keys_to_console; the tiny image's /init prints the same). The console is the
// guest's own text: only lines that look exactly like public keys are taken, and only a few.

import { MAX_HOST_KEYS, MAX_HOST_KEY_LENGTH } from "../core/protocol.js";

const BEGIN = "-----BEGIN SSH HOST KEY KEYS-----";
const END = "-----END SSH HOST KEY KEYS-----";
const KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/;

/** How much of the console's start is read: the keys come early in a boot. */
export const CONSOLE_HEAD_BYTES = 256 * 1024;

/** The keys (`type base64`) of the first complete block in `console`; none when there is no such block. */
export function parseHostKeys(console: string): string[] {
  const start = console.indexOf(BEGIN);
  if (start < 0) return [];
  const end = console.indexOf(END, start);
  if (end < 0) return [];
  const keys: string[] = [];
  for (const raw of console.slice(start + BEGIN.length, end).split("\n")) {
    const match = KEY_LINE.exec(raw.replace(/\r$/, "").trim());
    if (!match) continue;
    const key = `${match[1]} ${match[2]}`;
    if (key.length <= MAX_HOST_KEY_LENGTH && !keys.includes(key)) keys.push(key);
    if (keys.length === MAX_HOST_KEYS) break;
  }
  return keys;
}

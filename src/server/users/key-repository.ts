// The lab's key repository, the seed's copyuserkey fallback: when a user stored no ssh key, their keys
// are fetched from `[keys] url` (HTTPS with a valid certificate only, bounded in size and time). What
// it answers is not trusted: each line must be a well-formed public key, or it is left out.

import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { VgridError } from "../../core/errors.js";
import { printable } from "../../core/names.js";
import { parseSshPublicKey } from "../../core/ssh-keys.js";

/** A key file is a few lines: more than this is not one. */
export const KEY_FILE_MAX_BYTES = 64 * 1024;
/** The deploy waits this long for the repository at most. */
export const KEY_FETCH_TIMEOUT_MS = 5_000;

/** The URL of `user`'s keys: `${username}` replaced, escaped for a URL path. */
export function keyUrl(template: string, user: string): URL {
  return new URL(template.replaceAll("${username}", encodeURIComponent(user)));
}

/** The user's keys in the repository ([] when it has none for them); Unavailable when it cannot be asked. */
export async function fetchRepositoryKeys(keys: { url: string; ca?: string }, user: string): Promise<string[]> {
  const url = keyUrl(keys.url, user);
  const ca = keys.ca === undefined ? undefined : await readFile(keys.ca, "utf8");
  const body = await new Promise<string | null>((resolve, reject) => {
    const req = request(url, { method: "GET", ca, timeout: KEY_FETCH_TIMEOUT_MS, headers: { accept: "text/plain" } }, (res) => {
      if (res.statusCode === 404) {
        res.resume();
        return resolve(null);
      }
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`it answered ${res.statusCode}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > KEY_FILE_MAX_BYTES) {
          req.destroy(new Error(`its answer is larger than ${KEY_FILE_MAX_BYTES / 1024} KiB`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`it did not answer within ${KEY_FETCH_TIMEOUT_MS / 1000} s`)));
    req.on("error", reject);
    req.end();
  }).catch((err: unknown) => {
    throw new VgridError(
      "key-repository-unavailable",
      `the lab's key repository (${url.origin}) could not be asked for your keys: ${printable((err as Error).message, 200)}; add a key with PUT /api/v1/me/ssh-keys or pass sshKeys`,
    );
  });
  if (body === null) return [];
  const found: string[] = [];
  for (const line of body.split(/\r?\n/)) {
    const text = line.trim();
    if (text === "" || text.startsWith("#")) continue;
    try {
      found.push(parseSshPublicKey(text, found.length));
    } catch {
      // not a public key: never handed to a guest
    }
  }
  return found;
}

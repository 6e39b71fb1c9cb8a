// OpenSSH public keys as users give them: parsed by ssh2, then written back in one canonical line.

import ssh2 from "ssh2";
import { Invalid } from "./errors.js";
import { printable } from "./names.js";

const ALLOWED_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/**
 * Returns the key as `type base64 [comment]`, or throws Invalid naming the key (by position and start).
 * Control characters are refused outright: a key travels into cloud-init YAML and authorized_keys files.
 */
export function parseSshPublicKey(raw: string, position: number): string {
  const where = `sshKeys[${position}] ('${printable(raw, 40)}')`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    throw new Invalid("sshKeys", `${where} contains a line break or control character; give one key per entry`);
  }
  const fields = raw.trim().split(/ +/);
  const [type, blob, ...comment] = fields;
  if (type === undefined || blob === undefined || !ALLOWED_TYPES.has(type)) {
    throw new Invalid("sshKeys", `${where} is not an OpenSSH public key; expected 'ssh-ed25519 AAAA... comment' (the content of a .pub file)`);
  }
  const parsed = ssh2.utils.parseKey(`${type} ${blob}`);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey() || parsed.type !== type) {
    throw new Invalid("sshKeys", `${where} is malformed: its key data does not decode as a ${type} public key`);
  }
  return [type, blob, ...comment].join(" ");
}

export function parseSshPublicKeys(keys: readonly string[]): string[] {
  return keys.map((k, i) => parseSshPublicKey(k, i));
}

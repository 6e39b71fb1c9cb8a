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
 * Returns the key as `type base64 [comment]`, or throws Invalid naming the key (by the request's field,
 * its position and its start). Control characters are refused outright: a key travels into cloud-init
 * YAML and authorized_keys files.
 */
export function parseSshPublicKey(raw: string, position: number, field = "sshKeys"): string {
  const where = `${field}[${position}] ('${printable(raw, 40)}')`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    throw new Invalid(field, `${where} contains a line break or control character; give one key per entry`);
  }
  const fields = raw.trim().split(/ +/);
  const [type, blob, ...comment] = fields;
  if (type === undefined || blob === undefined || !ALLOWED_TYPES.has(type)) {
    throw new Invalid(field, `${where} is not an OpenSSH public key; expected 'ssh-ed25519 AAAA... comment' (the content of a .pub file)`);
  }
  const parsed = ssh2.utils.parseKey(`${type} ${blob}`);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey() || parsed.type !== type) {
    throw new Invalid(field, `${where} is malformed: its key data does not decode as a ${type} public key`);
  }
  return [type, blob, ...comment].join(" ");
}

export function parseSshPublicKeys(keys: readonly string[], field = "sshKeys"): string[] {
  return keys.map((k, i) => parseSshPublicKey(k, i, field));
}

/** The key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` and the unpadded base64 of its blob's hash. */
export function sshFingerprint(key: string): string {
  const blob = key.trim().split(/ +/)[1] ?? "";
  // node:crypto is taken when called, not imported: an idle node agent never loads it (3 MB).
  return `SHA256:${process.getBuiltinModule("node:crypto").createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

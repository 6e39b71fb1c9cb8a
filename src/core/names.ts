// Names that reach paths, QEMU arguments and guests: how they are normalised and checked.

import { Invalid } from "./errors.js";

/** Usernames as the seed made them: spaces become underscores; then only a safe alphabet. */
export function normalizeUsername(raw: string): string {
  const name = raw.trim().replace(/ /g, "_");
  if (name.length === 0 || name.length > 64 || !/^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/.test(name) || name.includes("..")) {
    throw new Invalid(
      "username",
      `username '${printable(raw)}' is not allowed: use 1-64 letters, digits, '_', '.', '@' or '-', not starting with '.' or '-'`,
    );
  }
  return name;
}

/** A hostname of the pool: an RFC 1123 label, so that it is safe in a guest, a path and a template. */
export function isValidHostname(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(name);
}

/** The VM's unique machine name (the seed's ${machinename}), derived from its id and nothing else. */
export function machineName(vmId: string): string {
  return `vgrid-${vmId.slice(0, 12)}`;
}

/** VM ids are UUIDs; anything else is simply not found (never a path). */
export function isVmId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
}

/** Text fit to quote in a message: control characters escaped, length bounded. */
export function printable(text: string, max = 80): string {
  const escaped = JSON.stringify(text).slice(1, -1);
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}

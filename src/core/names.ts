// Names that reach paths, QEMU arguments, templates and guests: each pattern declared once, with how
// names are normalised and checked. Config schemas, the protocol and the node all use these.

import { Invalid } from "./errors.js";

/** An image's tag: what users type and what names its files. */
export const IMAGE_TAG_PATTERN = "^[a-z0-9][a-z0-9._-]{0,63}$";
/** A host of the pool (a node's name): letters, digits, '.', '_' and '-'. */
export const HOST_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
/** One RFC 1123 label: a guest's own hostname. */
export const HOSTNAME_LABEL_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
/**
 * A name of the hostname pool: one label (`vm-003`) or a fully qualified name of labels
 * (`ctb-generic-19.cern.ch`), as the seed's pool had them; at most 253 characters.
 */
export const POOL_HOSTNAME_PATTERN = "^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$";
/** A MAC address as six lowercase hex pairs. */
export const MAC_PATTERN = "^([0-9a-f]{2}:){5}[0-9a-f]{2}$";
/** A file name in a node's image directory: never a path. */
export const FILE_NAME_PATTERN = "^(?!\\.{1,2}$)[^/\\\\\\u0000-\\u001f\\u007f]+$";

const IMAGE_TAG = new RegExp(IMAGE_TAG_PATTERN);
const HOST_NAME = new RegExp(HOST_NAME_PATTERN);
const HOSTNAME_LABEL = new RegExp(HOSTNAME_LABEL_PATTERN, "i");
const POOL_HOSTNAME = new RegExp(POOL_HOSTNAME_PATTERN);
const MAC = new RegExp(MAC_PATTERN, "i");

export function isImageTag(tag: string): boolean {
  return IMAGE_TAG.test(tag);
}

export function isHostName(name: string): boolean {
  return HOST_NAME.test(name);
}

export function isMac(mac: string): boolean {
  return MAC.test(mac);
}

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

/** A guest's own hostname: an RFC 1123 label, so that it is safe in a guest, a path and a template. */
export function isValidHostname(name: string): boolean {
  return HOSTNAME_LABEL.test(name);
}

/** A name the hostname pool may hold: a label, or a fully qualified name (lowercase). */
export function isPoolHostname(name: string): boolean {
  return POOL_HOSTNAME.test(name);
}

/** The guest's own hostname of a pool name: its first label (`ctb-generic-19` of `ctb-generic-19.cern.ch`). */
export function guestHostname(poolName: string): string {
  return poolName.split(".")[0]!;
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

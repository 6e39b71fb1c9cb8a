// The cloud-init NoCloud seed of a VM: meta-data and user-data rendered from its spec, packed into
// an ISO labelled `cidata` that the guest reads as a disk (cloud-init, or the tiny image's /init).

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { Invalid } from "../../core/errors.js";
import { guestHostname, isPoolHostname, printable } from "../../core/names.js";
import type { VmSpec } from "../../core/protocol.js";
import { run } from "../../core/run.js";

export interface SeedFiles {
  metaData: string;
  userData: string;
}

/** The NoCloud file names: cloud-init looks for exactly these at the root of the `cidata` volume. */
export const META_DATA = "meta-data";
export const USER_DATA = "user-data";

/** xorriso packs two small files in about 0.1 s; far longer means it is stuck. */
const XORRISO_TIMEOUT_MS = 30_000;

/**
 * Renders the seed of one VM. Every scalar is a JSON string, which is also a YAML double-quoted
 * scalar: no value can open a new key or list entry, whatever it contains. Each ssh key stays on a
 * line of its own (`  - "ssh-ed25519 AAAA... comment"`) because the tiny guest reads them with sed.
 */
export function renderSeedFiles(spec: VmSpec): SeedFiles {
  if (!isPoolHostname(spec.hostname)) {
    throw new Invalid("hostname", `hostname '${printable(spec.hostname)}' is not a valid host name (RFC 1123 labels)`);
  }
  // A pool may hold fully qualified names, as the seed's did: the guest's own hostname is the first
  // label, its FQDN the whole name.
  const hostname = guestHostname(spec.hostname);
  const fqdn = spec.hostname === hostname ? [] : [`fqdn: ${yamlString(spec.hostname)}`];
  const metaData = [`instance-id: ${yamlString(spec.id)}`, `local-hostname: ${yamlString(hostname)}`, ""].join("\n");
  const keys = spec.sshKeys.map((key) => key.trim()).filter((key) => key.length > 0);
  const userData = [
    "#cloud-config",
    `hostname: ${yamlString(hostname)}`,
    ...fqdn,
    // The owner logs in as root with their own key: cloud-init locks root out unless told otherwise.
    "disable_root: false",
    "ssh_pwauth: false",
    keys.length === 0 ? "ssh_authorized_keys: []" : "ssh_authorized_keys:",
    ...keys.map((key) => `  - ${yamlString(key)}`),
    `vgrid_username: ${yamlString(spec.owner)}`,
    "",
  ].join("\n");
  return { metaData, userData };
}

// JSON.stringify leaves a few characters raw that YAML treats as line breaks (NEL, LS, PS) or refuses
// as non-printable (DEL, C1 controls, BOM, U+FFFE/U+FFFF): escape those too.
const YAML_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** A scalar as a double-quoted string that is valid JSON and valid YAML, always on one line. */
export function yamlString(value: string): string {
  return JSON.stringify(value).replace(YAML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Writes the seed's files into `dir` and packs them into the ISO `outPath` with xorriso.
 * The caller makes `outPath` appear atomically (write elsewhere, then rename) if it needs to.
 */
export async function writeSeedIso(dir: string, files: SeedFiles, outPath: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, USER_DATA), files.userData, { mode: 0o600 });
  await writeFile(path.join(dir, META_DATA), files.metaData, { mode: 0o600 });
  const args = ["-as", "mkisofs", "-output", path.resolve(outPath), "-volid", "cidata", "-joliet", "-rock"];
  await run("xorriso", [...args, USER_DATA, META_DATA], { cwd: dir, timeoutMs: XORRISO_TIMEOUT_MS, ...(signal ? { signal } : {}) });
}

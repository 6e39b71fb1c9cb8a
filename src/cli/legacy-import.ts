// Turns a VGrid installation's common.cfg, server.cfg and node.cfg (parsed) into server.toml and node.toml:
// pure, so that every mapping and every refusal is unit-tested; the command around it only reads and writes.

import { randomBytes } from "node:crypto";
import { basename, join } from "node:path";
import { stringify } from "smol-toml";
import { ConfigError, Invalid } from "../core/errors.js";
import type { IniEntry, IniFile } from "../core/legacy-ini.js";
import type { ImageEntry } from "../core/image.js";
import { isHostName, isImageTag, isMac, isPoolHostname, normalizeUsername, printable } from "../core/names.js";

export interface LegacyConfig {
  common: IniFile;
  server: IniFile;
  node: IniFile;
  /** The host of the pool the node.toml is for; the pool's first host when not given. */
  nodeName?: string | undefined;
  /** A fresh node token; injected so that tests are repeatable. */
  newToken?: () => string;
  /**
   * The sidecars (`*.json`) found in the node's image directory, when it is on this machine: an image
   * whose disk one of them describes keeps how it boots (kernel, initrd, command line) and its sizes.
   */
  sidecars?: ImageEntry[];
}

export interface ImportedConfig {
  serverToml: string;
  nodeToml: string;
  warnings: string[];
}

// The legacy config has no host sizes; these only let the server start, and a warning asks for the real ones.
export const DEFAULT_HOST_MEMORY_MIB = 65536;
export const DEFAULT_HOST_CPUS = 16;
const SERVER_PORT = 8080;
const TARBALL = /\.(tar|tgz|tar\.(gz|bz2|xz|zst))$/i;

/** What vgrid does not use (yet) from node.cfg, and what the warning says was dropped. */
const DROPPED_NODE_SECTIONS: Record<string, string> = {
  VMConfigTemplates: "the Xen config templates per image",
  VMSwapSize: "the swap sizes per image",
  VMTypes: "the virtual machine types per image, all Xen",
  XenDeployerFSCreateCmd: "the commands that made the root filesystems",
};
const KNOWN_SECTIONS: Record<"common" | "server" | "node", string[]> = {
  common: ["VMImages", "PhysicalHostsPool", "VirtualHostsPool"],
  server: ["General", "Administrators"],
  node: ["General", "VMImageFiles", ...Object.keys(DROPPED_NODE_SECTIONS)],
};

export function importLegacyConfig(legacy: LegacyConfig): ImportedConfig {
  const { common, server, node } = legacy;
  const newToken = legacy.newToken ?? (() => randomBytes(24).toString("base64url"));
  const warnings: string[] = [];
  for (const kind of ["common", "server", "node"] as const) {
    for (const name of legacy[kind].sections.keys()) {
      if (!KNOWN_SECTIONS[kind].includes(name)) warnings.push(`${legacy[kind].file}: [${name}] is not a VGrid section; ignored`);
    }
  }

  const imageDirectory = entry(node, "General", "imagedirectory")?.value || "images";
  const images: Record<string, unknown>[] = [];
  for (const e of entries(common, "VMImages")) {
    if (!isImageTag(e.key)) {
      throw new ConfigError(common.file, `[VMImages] ${printable(e.rawKey)}`, `image tag '${printable(e.key)}' is not allowed: use lowercase letters, digits, '.', '_' or '-' (at most 64)`);
    }
    const disk = imageDisk(node, e.key, warnings);
    const name = e.value || e.rawKey;
    if (TARBALL.test(disk)) {
      // A root filesystem tarball (the seed's genfs.py output) is no disk: it must become one first.
      warnings.push(
        `${node.file}: [VMImageFiles] image '${e.key}' is the tarball ${disk}, not a disk: turn it into one with ` +
          `\`vgrid image import ${join(imageDirectory, disk)} --tag ${e.key} --name ${shellQuote(name)} --out ${imageDirectory}\`; ` +
          "its sidecar then puts it in the catalog",
      );
      continue;
    }
    const sidecar = legacy.sidecars?.find((i) => i.disk === disk);
    if (sidecar) {
      // TOML has no null: a key the sidecar leaves null is left out (its default is null).
      images.push(Object.fromEntries(Object.entries({ ...sidecar, tag: e.key, name }).filter(([, v]) => v !== null)));
    } else {
      images.push({ tag: e.key, name, disk, boot: "disk" });
      if (legacy.sidecars !== undefined) {
        warnings.push(`${node.file}: image '${e.key}': no sidecar in ${imageDirectory} describes ${disk}; it boots from its disk with the default sizes (512 MiB)`);
      }
    }
  }
  if (legacy.sidecars === undefined && images.length > 0) {
    warnings.push(`${node.file}: [General] imageDirectory ${imageDirectory} is not on this machine: the images boot from their disks with the default sizes; check [[images]] in server.toml`);
  }

  const hosts = entries(common, "PhysicalHostsPool").map((e) => {
    if (!/^\d+$/.test(e.value) || !Number.isSafeInteger(Number(e.value))) {
      throw new ConfigError(common.file, `[PhysicalHostsPool] ${printable(e.rawKey)} (line ${e.line})`, `the maximum number of VMs must be a whole number, not '${printable(e.value)}'`);
    }
    if (!isHostName(e.rawKey)) {
      throw new ConfigError(common.file, `[PhysicalHostsPool] ${printable(e.rawKey)} (line ${e.line})`, "not a hostname");
    }
    return { name: e.rawKey, maxVms: Number(e.value), memoryMiB: DEFAULT_HOST_MEMORY_MIB, cpus: DEFAULT_HOST_CPUS, token: newToken() };
  });
  if (hosts.length > 0) {
    warnings.push(
      `${common.file}: [PhysicalHostsPool] has no memory or cpu counts; set memoryMiB and cpus of ${hosts.map((h) => h.name).join(", ")} in server.toml (now ${DEFAULT_HOST_MEMORY_MIB} and ${DEFAULT_HOST_CPUS})`,
    );
  }

  const pool = hostnamePool(common);

  const admins = entries(server, "Administrators").map((e) => {
    try {
      return normalizeUsername(e.value);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      throw new ConfigError(server.file, `[Administrators] ${printable(e.rawKey)} (line ${e.line})`, err.message);
    }
  });
  const envUser = entry(server, "General", "envusernamevariable");
  if (envUser) {
    warnings.push(
      `${server.file}: [General] EnvUsernameVariable = ${printable(envUser.value)}: login by a trusted proxy header (REMOTE_USER...) is configured in a later vgrid version; until then use API tokens`,
    );
  }

  const nodeToml = nodeConfig(legacy, hosts, warnings);
  const serverToml = stringify({ admins, hosts, hostnames: { pool }, images });
  return {
    serverToml: `# Imported from a VGrid installation by \`vgrid config import-legacy\`.\n${serverToml}`,
    nodeToml: `# Imported from a VGrid installation by \`vgrid config import-legacy\`.\n${stringify(nodeToml)}`,
    warnings,
  };
}

function imageDisk(node: IniFile, tag: string, warnings: string[]): string {
  const found = entry(node, "VMImageFiles", tag) ?? entry(node, "VMImageFiles", "default");
  if (!found || found.value === "") {
    throw new ConfigError(node.file, "[VMImageFiles]", `image '${tag}' has no disk file: add '${tag}: FILE' or 'default: FILE' to the section`);
  }
  const disk = basename(found.value);
  if (disk !== found.value) {
    warnings.push(`${node.file}: [VMImageFiles] ${found.rawKey}: '${printable(found.value)}' became '${printable(disk)}'; put the file in the node's imageDirectory`);
  }
  if (disk === "" || disk === "." || disk === "..") {
    throw new ConfigError(node.file, `[VMImageFiles] ${printable(found.rawKey)}`, `'${printable(found.value)}' is not a file name`);
  }
  return disk;
}

function hostnamePool(common: IniFile): { name: string; extra: string; mac: string }[] {
  const given = entries(common, "VirtualHostsPool");
  const taken = new Map<string, string>();
  for (const e of given) {
    if (!isMac(e.value)) continue;
    const mac = e.value.toLowerCase();
    const other = taken.get(mac);
    if (other !== undefined) {
      throw new ConfigError(common.file, `[VirtualHostsPool] ${e.key}`, `MAC ${mac} is also ${other}'s; give each hostname its own`);
    }
    taken.set(mac, e.key);
  }
  let next = 0;
  return given.map((e, i) => {
    if (!isPoolHostname(e.key.toLowerCase())) {
      throw new ConfigError(
        common.file,
        `[VirtualHostsPool] ${printable(e.rawKey)} (line ${e.line})`,
        "not a hostname: use labels of letters, digits and '-', such as vm-19 or ctb-generic-19.cern.ch",
      );
    }
    let mac = isMac(e.value) ? e.value.toLowerCase() : undefined;
    // A locally administered MAC (QEMU's 52:54:00 prefix), numbered from the entry's index and skipping any
    // MAC the pool already names, so that no two guests share one.
    next = Math.max(next, i + 1);
    while (mac === undefined) {
      const candidate = `52:54:00:${[16, 8, 0].map((shift) => ((next >> shift) & 0xff).toString(16).padStart(2, "0")).join(":")}`;
      next += 1;
      if (!taken.has(candidate)) mac = candidate;
    }
    taken.set(mac, e.key);
    return { name: e.key.toLowerCase(), extra: e.value, mac };
  });
}

function nodeConfig(legacy: LegacyConfig, hosts: { name: string; token: string }[], warnings: string[]): Record<string, string | boolean> {
  const { common, node } = legacy;
  const serverHost = entry(node, "General", "serverhostname");
  if (!serverHost || !/^[A-Za-z0-9.-]+$/.test(serverHost.value)) {
    const got = serverHost ? `not '${printable(serverHost.value)}'` : "it is missing";
    throw new ConfigError(node.file, "[General] serverHostname", `needs the vgrid server's hostname, ${got}`);
  }
  let host = hosts[0];
  if (legacy.nodeName !== undefined) {
    const wanted = legacy.nodeName.toLowerCase();
    host = hosts.find((h) => h.name.toLowerCase() === wanted);
    if (!host) {
      throw new ConfigError(common.file, "[PhysicalHostsPool]", `--node-name '${printable(legacy.nodeName)}' is not in the pool; known hosts: ${hosts.map((h) => h.name).join(", ") || "none"}`);
    }
  }
  if (!host) throw new ConfigError(common.file, "[PhysicalHostsPool]", "has no hosts; node.toml needs one: add 'HOSTNAME: MAXVMS'");

  const config: Record<string, string | boolean> = { name: host.name, server: `http://${serverHost.value}:${SERVER_PORT}`, token: host.token };
  // The seed spoke plain HTTP between its machines; vgrid allows that only when told (node.toml insecure).
  if (!/^(localhost|127\.[0-9.]+)$/i.test(serverHost.value)) {
    config.insecure = true;
    warnings.push(
      `${node.file}: the seed's nodes spoke plain HTTP to the server: node.toml says insecure = true to go on so; serve HTTPS ([tls] in server.toml), then write server = "https://${serverHost.value}:${SERVER_PORT}" (and serverCa) and remove insecure`,
    );
  }
  const imageDirectory = entry(node, "General", "imagedirectory");
  if (imageDirectory && imageDirectory.value !== "") config.imageDirectory = imageDirectory.value;

  const volumeGroup = entry(node, "General", "volumegroupname");
  if (volumeGroup) {
    warnings.push(`${node.file}: [General] volumeGroupName = ${printable(volumeGroup.value)} dropped: vgrid keeps VM disks as qcow2 overlays, not LVM volumes`);
  }
  for (const [section, what] of Object.entries(DROPPED_NODE_SECTIONS)) {
    if (node.sections.has(section)) warnings.push(`${node.file}: [${section}] dropped (${what}): a Xen setting vgrid does not use`);
  }
  return config;
}

/** A word for a shell, in single quotes, for a command the operator may paste. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function entries(ini: IniFile, section: string): IniEntry[] {
  return ini.sections.get(section)?.entries ?? [];
}

function entry(ini: IniFile, section: string, key: string): IniEntry | undefined {
  return entries(ini, section).find((e) => e.key === key);
}

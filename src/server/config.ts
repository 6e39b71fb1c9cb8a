// The server's settings, as parsed from server.toml or given by `vgrid up`: typed and frozen.

import type { ImageEntry } from "../core/image.js";

export interface HostConfig {
  name: string;
  maxVms: number;
  memoryMiB: number;
  cpus: number;
  /** The node's secret; only its hash is stored. */
  token: string;
}

export interface HostnameConfig {
  name: string;
  extra: string;
  mac: string;
}

export type ImageConfig = ImageEntry;

export interface ServerConfig {
  listen: { host: string; port: number };
  database: { file: string };
  /** Overcommit ratios: schedulable memory and cpus are the host's own times these. */
  overcommit: { memory: number; cpus: number };
  expiry: { defaultHours: number; maxHours: number };
  quota: { maxVmsPerUser: number | null };
  /** Seconds without a sync after which a node counts as offline. */
  nodeOfflineAfterSeconds: number;
  admins: string[];
  hosts: HostConfig[];
  hostnames: HostnameConfig[];
  images: ImageConfig[];
}

/** A hostname pool of `prefix-001`... with MACs from the locally administered range 52:54:00 (QEMU's). */
export function numberedHostnames(prefix: string, count: number): HostnameConfig[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return {
      name: `${prefix}-${String(n).padStart(3, "0")}`,
      extra: "",
      mac: `52:54:00:${hex((n >> 16) & 0xff)}:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`,
    };
  });
}

const hex = (n: number) => n.toString(16).padStart(2, "0");

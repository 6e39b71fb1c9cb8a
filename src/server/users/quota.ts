// A user's quota: the limits that apply to them (server.toml's defaults, their own `[quota.users.NAME]`
// over those) and whether one more VM of a size keeps within them. Pure: the deploy transaction reads
// the use and applies this.

import type { QuotaConfig } from "../config.js";

/** null: no limit. */
export interface Quota {
  maxVms: number | null;
  maxMemoryMiB: number | null;
  maxCpus: number | null;
}

/** What a user's VMs that hold a slot use. */
export interface QuotaUse {
  vms: number;
  memoryMiB: number;
  cpus: number;
}

/** `user.maxVms` is a limit kept on the user's row; server.toml's own table for the user wins over it. */
export function quotaFor(config: QuotaConfig, user: { name: string; maxVms: number | null }): Quota {
  const own = config.users.get(user.name);
  return {
    maxVms: own?.maxVms ?? user.maxVms ?? config.maxVmsPerUser,
    maxMemoryMiB: own?.maxMemoryMiB ?? config.maxMemoryMiBPerUser,
    maxCpus: own?.maxCpus ?? config.maxCpusPerUser,
  };
}

export function hasAnyLimit(quota: Quota): boolean {
  return quota.maxVms !== null || quota.maxMemoryMiB !== null || quota.maxCpus !== null;
}

/** Why a VM of `size` would go beyond the quota, in words that name the limit and what to do; undefined when it fits. */
export function quotaProblem(quota: Quota, used: QuotaUse, size: { memoryMiB: number; cpus: number }): string | undefined {
  if (quota.maxVms !== null && used.vms + 1 > quota.maxVms) {
    return `you have ${used.vms} VMs and your quota is ${quota.maxVms} VMs (maxVms); terminate one first, or ask an admin for a larger quota`;
  }
  if (quota.maxMemoryMiB !== null && used.memoryMiB + size.memoryMiB > quota.maxMemoryMiB) {
    return `this VM's ${size.memoryMiB} MiB would bring your VMs' memory to ${used.memoryMiB + size.memoryMiB} MiB, above your quota of ${quota.maxMemoryMiB} MiB (maxMemoryMiB); terminate a VM or ask for less memory (memoryMiB)`;
  }
  if (quota.maxCpus !== null && used.cpus + size.cpus > quota.maxCpus) {
    return `this VM's ${size.cpus} cpus would bring your VMs' cpus to ${used.cpus + size.cpus}, above your quota of ${quota.maxCpus} cpus (maxCpus); terminate a VM or ask for fewer cpus (cpus)`;
  }
  return undefined;
}

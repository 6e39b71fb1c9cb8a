// Every query key of the portal, in one place: what is cached under which name, so that the event
// stream and the mutations update exactly what the pages read.

import type { AuditFilter } from "../api/catalog.ts";
import type { VmFilter } from "../api/vms.ts";

export const keys = {
  me: ["me"] as const,
  images: ["images"] as const,
  tokens: ["tokens"] as const,
  hosts: ["hosts"] as const,
  hostnames: ["hostnames"] as const,
  /** Every list of VMs, whatever its filter: the prefix the event stream updates. */
  vmLists: ["vms"] as const,
  vmList: (filter: VmFilter) => ["vms", filter] as const,
  /** A VM, and under it its history and its log. */
  vm: (id: string) => ["vm", id] as const,
  vmHistory: (id: string) => ["vm", id, "history"] as const,
  vmLog: (id: string) => ["vm", id, "log"] as const,
  audit: (filter: AuditFilter) => ["audit", filter] as const,
};

// The images one may deploy; for admins, the hosts, the hostname pool and the audit log.

import type { AuditEntry, Host, Hostname, Image } from "../../../src/core/api.ts";
import { getJson, query } from "./client.ts";
import type { Page } from "./vms.ts";

export type CatalogImage = Image;

export interface AuditFilter {
  q?: string;
  actor?: string;
  action?: string;
  target?: string;
}

export const listImages = () => getJson<Page<CatalogImage>>("/images");
export const listHosts = () => getJson<Page<Host>>("/hosts");
export const listHostnames = (cursor?: string) => getJson<Page<Hostname>>(`/hostnames${query({ cursor, limit: "5000" })}`);
export const listAudit = (filter: AuditFilter, cursor?: string) => getJson<Page<AuditEntry>>(`/audit${query({ ...filter, cursor, limit: "100" })}`);

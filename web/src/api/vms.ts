// /api/v1/vms and what hangs off a VM.

import type { DeployRequest, Vm } from "../../../src/core/api.ts";
import type { PowerAction } from "../../../src/core/vm-state.ts";
import { getJson, getText, query, sendJson } from "./client.ts";

export interface VmFilter {
  all?: boolean;
  owner?: string;
  host?: string;
  image?: string;
  state?: string;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface HistoryEntry {
  at: string;
  state: string;
  by: string | null;
  detail: string | null;
}

export const listVms = (filter: VmFilter, cursor?: string) =>
  getJson<Page<Vm>>(
    `/vms${query({ all: filter.all ? "true" : undefined, owner: filter.owner, host: filter.host, image: filter.image, state: filter.state, cursor, limit: filter.all ? "200" : undefined })}`,
  );
export const getVm = (id: string) => getJson<Vm>(`/vms/${encodeURIComponent(id)}`);
export const getVmHistory = (id: string) => getJson<{ items: HistoryEntry[] }>(`/vms/${encodeURIComponent(id)}/history`);
export const getVmLog = (id: string) => getText(`/vms/${encodeURIComponent(id)}/log`);
export const deployVm = (request: DeployRequest) => sendJson<Vm>("POST", "/vms", request);
export const terminateVm = (id: string, reason?: string) =>
  sendJson<Vm>("DELETE", `/vms/${encodeURIComponent(id)}`, reason === undefined || reason === "" ? undefined : { reason });
export const powerVm = (id: string, action: PowerAction) => sendJson<Vm>("POST", `/vms/${encodeURIComponent(id)}/${action}`, undefined);
export const extendVm = (id: string, hours: number) => sendJson<Vm>("POST", `/vms/${encodeURIComponent(id)}/extend`, { hours });

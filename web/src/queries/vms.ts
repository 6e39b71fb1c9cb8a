// VMs: the lists, one VM, its history and log, and what a person does to them. A mutation's answer (the
// vm object) goes straight into the cache, so the page shows it before the event stream says so too.

import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { DeployRequest, Vm } from "../../../src/core/api.ts";
import { applyVmEvent, isNewer } from "../../../src/portal/rules.ts";
import type { MeWithLimits } from "../api/me.ts";
import type { PowerAction } from "../../../src/core/vm-state.ts";
import { deployVm, extendVm, getVm, getVmHistory, getVmLog, listVms, powerVm, terminateVm, type Page, type VmFilter } from "../api/vms.ts";
import { keys } from "./keys.ts";

type Pages = { pages: Page<Vm>[]; pageParams: (string | undefined)[] };

/**
 * Puts a VM as the server has it into every cached view of it, unless a later copy is there already
 * (an answer and an event race on two connections). A list without `all` holds the caller's own VMs
 * only: an admin's stream brings everyone's.
 */
export function storeVm(client: QueryClient, vm: Vm): void {
  if (!isNewer(vm, client.getQueryData<Vm>(keys.vm(vm.id)))) return;
  client.setQueryData(keys.vm(vm.id), vm);
  const me = client.getQueryData<MeWithLimits>(keys.me)?.username;
  for (const [key, data] of client.getQueriesData<Page<Vm> | Pages>({ queryKey: keys.vmLists })) {
    const listed = (key[1] ?? {}) as VmFilter;
    const filter = listed.all ? listed : { ...listed, owner: me ?? "" };
    if (data === undefined) continue;
    if ("pages" in data) {
      // A paged list (the admin's): in place where it is; a new VM that matches goes on the first page.
      const known = data.pages.some((p) => p.items.some((v) => v.id === vm.id));
      const pages = data.pages.map((p, i) => {
        const here = p.items.some((v) => v.id === vm.id);
        return here || (!known && i === 0) ? { ...p, items: applyVmEvent(p.items, vm, filter) } : p;
      });
      client.setQueryData<Pages>(key, { ...data, pages });
    } else {
      client.setQueryData<Page<Vm>>(key, { ...data, items: applyVmEvent(data.items, vm, filter) });
    }
  }
}

export function useVms(filter: VmFilter) {
  return useQuery({ queryKey: keys.vmList(filter), queryFn: () => listVms(filter) });
}

export function useVmPages(filter: VmFilter) {
  return useInfiniteQuery({
    queryKey: keys.vmList(filter),
    queryFn: ({ pageParam }) => listVms(filter, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next,
  });
}

export function useVm(id: string) {
  return useQuery({ queryKey: keys.vm(id), queryFn: () => getVm(id) });
}

export function useVmHistory(id: string) {
  return useQuery({ queryKey: keys.vmHistory(id), queryFn: () => getVmHistory(id) });
}

/** The boot log so far; while the VM boots it grows without events, so it is read again every 3 s then. */
export function useVmLog(id: string, booting = false) {
  return useQuery({ queryKey: keys.vmLog(id), queryFn: () => getVmLog(id), ...(booting ? { refetchInterval: 3000 } : {}) });
}

function useVmMutation<A>(run: (args: A) => Promise<Vm>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: (vm) => {
      storeVm(client, vm);
      void client.invalidateQueries({ queryKey: keys.me });
      void client.invalidateQueries({ queryKey: keys.vmHistory(vm.id) });
    },
  });
}

export const useDeploy = () => useVmMutation((request: DeployRequest) => deployVm(request));
export const useTerminate = () => useVmMutation(({ id, reason }: { id: string; reason?: string }) => terminateVm(id, reason));
export const usePower = () => useVmMutation(({ id, action }: { id: string; action: PowerAction }) => powerVm(id, action));
export const useExtend = () => useVmMutation(({ id, hours }: { id: string; hours: number }) => extendVm(id, hours));

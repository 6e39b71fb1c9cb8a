// Images for everyone; hosts, hostnames and the audit log for admins.

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { listAudit, listHostnames, listHosts, listImages, type AuditFilter } from "../api/catalog.ts";
import { keys } from "./keys.ts";

export function useImages() {
  return useQuery({ queryKey: keys.images, queryFn: listImages, staleTime: 60_000 });
}

/** Heartbeats come without VM events: the hosts are read again every 15 s while someone looks at them. */
export function useHosts(live = false) {
  return useQuery({ queryKey: keys.hosts, queryFn: listHosts, ...(live ? { refetchInterval: 15_000 } : {}) });
}

/** The whole hostname pool, page after page: its size is what the admin reads. */
export function useHostnames() {
  return useQuery({
    queryKey: keys.hostnames,
    queryFn: async () => {
      const all = [];
      let cursor: string | undefined;
      do {
        const page = await listHostnames(cursor);
        all.push(...page.items);
        cursor = page.next;
      } while (cursor !== undefined && all.length < 100_000);
      return all;
    },
  });
}

export function useAudit(filter: AuditFilter) {
  return useInfiniteQuery({
    queryKey: keys.audit(filter),
    queryFn: ({ pageParam }) => listAudit(filter, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next,
  });
}

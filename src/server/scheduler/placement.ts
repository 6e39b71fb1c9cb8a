// Placement: which host of the pool gets a new VM. Pure: a function of the hosts' load and the request.

export interface HostLoad {
  name: string;
  online: boolean;
  maxVms: number;
  vms: number;
  /** Schedulable memory and cpus: the host's own times the overcommit ratio. */
  memoryMiB: number;
  usedMemoryMiB: number;
  cpus: number;
  usedCpus: number;
}

export interface VmSize {
  memoryMiB: number;
  cpus: number;
}

export function hasCapacity(host: HostLoad, size: VmSize): boolean {
  return (
    host.online &&
    host.vms < host.maxVms &&
    host.usedMemoryMiB + size.memoryMiB <= host.memoryMiB &&
    host.usedCpus + size.cpus <= host.cpus
  );
}

/**
 * The online host with room and the least load (VMs over max VMs: spreading load); ties go to the
 * name, so it is stable. The store's takeSlot applies these same rules through an index.
 */
export function placeVm(hosts: readonly HostLoad[], size: VmSize): HostLoad | undefined {
  return hosts
    .filter((h) => hasCapacity(h, size))
    .sort((a, b) => loadOf(a) - loadOf(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
}

/** How full a host is by VM count, 0 to 1 (a host that takes no VM counts as full). */
export function loadOf(host: Pick<HostLoad, "vms" | "maxVms">): number {
  return host.maxVms > 0 ? host.vms / host.maxVms : 1;
}

/** Could the size ever fit on some host of the pool, even an empty one? If not, it is bad input, not a 409. */
export function couldEverFit(hosts: readonly HostLoad[], size: VmSize): boolean {
  return hosts.some((h) => h.maxVms > 0 && size.memoryMiB <= h.memoryMiB && size.cpus <= h.cpus);
}

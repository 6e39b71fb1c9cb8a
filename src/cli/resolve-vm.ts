// How a person names a VM on the command line: its full id, the short id `vgrid ls` prints (any
// unambiguous prefix of at least 4 characters), or its name. Live VMs come first: a name is reused once
// its VM is terminated, an id never is; among terminated VMs, a name means the latest that had it.

import { isVmId } from "../core/names.js";
import type { ApiClient, Vm } from "./client.js";
import { Failure } from "./errors.js";
import { vmLabel } from "./output.js";

const SHORTEST_PREFIX = 4;

export async function resolveVm(client: Pick<ApiClient, "getVm" | "listVms">, ref: string): Promise<Vm> {
  if (isVmId(ref)) return client.getVm(ref);
  const byIdPrefix = (vm: Vm) => ref.length >= SHORTEST_PREFIX && /^[0-9a-f-]+$/.test(ref) && vm.id.startsWith(ref);
  const live = (await client.listVms({ all: true })).filter((vm) => vm.name === ref || byIdPrefix(vm));
  if (live.length === 1) return live[0]!;
  if (live.length > 1) throw ambiguous(ref, live);
  const history = await client.listVms({ all: true, terminated: true });
  const past = history.filter(byIdPrefix);
  if (past.length === 1) return past[0]!;
  if (past.length > 1) throw ambiguous(ref, past);
  const named = history.filter((vm) => vm.name === ref).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (named.length > 0) return named[0]!;
  throw new Failure(`no VM with id or name '${ref}' is yours; \`vgrid ls\` lists your VMs`);
}

function ambiguous(ref: string, vms: Vm[]): Failure {
  const some = vms.slice(0, 5).map(vmLabel).join(", ");
  return new Failure(`'${ref}' matches ${vms.length} VMs (${some}${vms.length > 5 ? ", ..." : ""}); give more of the id`);
}

// `vgrid ls`: the caller's VMs (an admin's --all: everyone's), as a table or a JSON array.

import { parseCommand } from "../args.js";
import { ApiClient, type Vm } from "../client.js";
import { formatExpiry, formatTable, json, type CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { all: { type: "boolean" }, json: { type: "boolean" } });
  const vms = await ApiClient.fromEnv().listVms({ all: values.all ?? false });
  if (values.json) {
    io.out(json(vms));
  } else if (vms.length === 0) {
    io.out("no VMs; start one with `vgrid deploy IMAGE` (see `vgrid images`)");
  } else {
    io.out(formatVmTable(vms, new Date(), { owner: values.all === true }));
  }
  return 0;
}

/** Eight characters of the id are plenty to tell VMs apart by eye; JSON carries the full one. */
export function formatVmTable(vms: Vm[], now: Date, columns: { owner?: boolean } = {}): string {
  const owner = columns.owner === true;
  return formatTable(
    ["ID", "NAME", ...(owner ? ["OWNER"] : []), "IMAGE", "STATE", "RESPONDING", "HOST", "EXPIRES"],
    vms.map((vm) => [
      vm.id.slice(0, 8),
      vm.name,
      ...(owner ? [vm.owner] : []),
      vm.image,
      vm.state,
      vm.responding ? "yes" : "no",
      vm.host,
      formatExpiry(vm.expiresAt, now),
    ]),
  );
}

// `vgrid terminate ID [--reason TEXT]`: asks the server to stop the VM and delete its disks; the node does
// it shortly after. The reason is for the VM's owner (an admin terminating another's VM must give one).

import { parseCommand } from "../args.js";
import { ApiClient } from "../client.js";
import { resolveVm } from "../resolve-vm.js";
import { json, vmLabel, type CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, { reason: { type: "string" }, json: { type: "boolean" } }, ["ID"]);
  const client = ApiClient.fromEnv();
  const vm = await client.terminateVm((await resolveVm(client, positionals[0] ?? "")).id, values.reason);
  if (values.json) io.out(json(vm));
  else io.out(`${vmLabel(vm)} is ${vm.state}: its node stops it and deletes its disks, then it is terminated`);
  return 0;
}

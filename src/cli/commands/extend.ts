// `vgrid extend ID --hours H`: pushes the VM's expiry out, as far as the server's policy allows.

import { parseCommand, positiveNumber } from "../args.js";
import { ApiClient } from "../client.js";
import { resolveVm } from "../resolve-vm.js";
import { UsageError } from "../errors.js";
import { formatExpiry, json, vmLabel, type CliIo } from "../output.js";

export function parseExtendArgs(argv: string[]): { id: string; hours: number; json: boolean } {
  const { values, positionals } = parseCommand(argv, { hours: { type: "string" }, json: { type: "boolean" } }, ["ID"]);
  const hours = positiveNumber("--hours", values.hours, "hours");
  if (hours === undefined) throw new UsageError("--hours is required");
  return { id: positionals[0] ?? "", hours, json: values.json ?? false };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseExtendArgs(argv);
  const client = ApiClient.fromEnv();
  const vm = await client.extendVm((await resolveVm(client, args.id)).id, args.hours);
  if (args.json) io.out(json(vm));
  else if (vm.expiresAt === null) io.out(`${vmLabel(vm)} never expires`);
  else io.out(`${vmLabel(vm)} now expires at ${vm.expiresAt} (${formatExpiry(vm.expiresAt, new Date())})`);
  return 0;
}

// `vgrid show ID`: one VM, every field, and how to connect to it.

import { parseCommand } from "../args.js";
import { ApiClient, type Vm } from "../client.js";
import { resolveVm } from "../resolve-vm.js";
import { formatExpiry, json, sshCommandLine, type CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, { json: { type: "boolean" } }, ["ID"]);
  const vm = await resolveVm(ApiClient.fromEnv(), positionals[0] ?? "");
  if (values.json) io.out(json(vm));
  else io.out(formatVmDetails(vm, new Date()));
  return 0;
}

export function formatVmDetails(vm: Vm, now: Date): string {
  const plain = sshCommandLine(vm);
  const rows: [string, string | null][] = [
    ["id", vm.id],
    ["name", vm.name],
    ["owner", vm.owner],
    ["image", vm.image],
    ["host", vm.host],
    ["state", vm.transition === null ? vm.state : `${vm.state} (its node is ${vm.transition} it)`],
    ["responding", `${vm.responding ? "yes" : "no"}${vm.lastSeenAt ? ` (last seen ${vm.lastSeenAt})` : ""}`],
    ["memory", `${vm.memoryMiB} MiB`],
    ["cpus", String(vm.cpus)],
    ["created", vm.createdAt],
    ["expires", vm.expiresAt ? `${vm.expiresAt} (${formatExpiry(vm.expiresAt, now)})` : "never"],
    ["ssh", plain && vm.state === "running" ? `vgrid ssh ${vm.name}   (or: ${plain})` : plain],
    ["host keys", vm.sshHostKeys.length > 0 ? vm.sshHostKeys.map((k) => `${k.fingerprint} (${k.type})`).join(", ") : null],
    ["ip", vm.ip],
    ["mac", vm.mac],
    ["error", vm.error],
    ["terminated", vm.terminatedBy === null ? null : `by ${vm.terminatedBy}${vm.reason === null ? "" : `: ${vm.reason}`}`],
  ];
  return rows
    .filter((row): row is [string, string] => row[1] !== null)
    .map(([key, value]) => `${key.padEnd(11)}${value}`)
    .join("\n");
}

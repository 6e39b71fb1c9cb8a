// `vgrid deploy IMAGE`: asks the server for a VM and, with --wait, follows it until its ssh answers.

import { positiveInteger, positiveNumber, parseCommand } from "../args.js";
import { ApiClient, type DeployRequest } from "../client.js";
import { UsageError } from "../errors.js";
import { readKeyFile, rememberIdentity } from "../local-keys.js";
import { json, sshCommandLine, vmLabel, type CliIo } from "../output.js";
import { waitUntilReady } from "../wait.js";

const DEFAULT_TIMEOUT_S = 600;

export interface DeployArgs {
  request: DeployRequest;
  /** --ssh-key FILE: the one key this VM gets, instead of the caller's stored ones. */
  sshKeyFile: string | undefined;
  wait: boolean;
  timeoutS: number;
  json: boolean;
}

export function parseDeployArgs(argv: string[]): DeployArgs {
  const { values, positionals } = parseCommand(
    argv,
    {
      memory: { type: "string" },
      cpus: { type: "string" },
      hours: { type: "string" },
      "ssh-key": { type: "string" },
      wait: { type: "boolean" },
      timeout: { type: "string" },
      json: { type: "boolean" },
    },
    ["IMAGE"],
  );
  if (values.timeout !== undefined && !values.wait) throw new UsageError("--timeout only applies with --wait");
  // Only the flags given go to the server, so that its defaults (per image) apply to the others.
  const request: DeployRequest = { image: positionals[0] ?? "" };
  const memoryMiB = positiveInteger("--memory", values.memory, "MiB");
  const cpus = positiveInteger("--cpus", values.cpus, "cpus");
  const hours = positiveNumber("--hours", values.hours, "hours");
  if (memoryMiB !== undefined) request.memoryMiB = memoryMiB;
  if (cpus !== undefined) request.cpus = cpus;
  if (hours !== undefined) request.hours = hours;
  return {
    request,
    sshKeyFile: values["ssh-key"],
    wait: values.wait ?? false,
    timeoutS: positiveNumber("--timeout", values.timeout, "seconds") ?? DEFAULT_TIMEOUT_S,
    json: values.json ?? false,
  };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseDeployArgs(argv);
  const client = ApiClient.fromEnv();
  if (args.sshKeyFile !== undefined) {
    const key = await readKeyFile(args.sshKeyFile);
    args.request.sshKeys = [key.publicKey];
    await rememberIdentity(key);
  }
  let vm = await client.createVm(args.request);
  if (args.wait) {
    vm = await waitUntilReady(client, vm, {
      timeoutMs: args.timeoutS * 1000,
      log: (line) => io.err(line),
    });
  }
  if (args.json) {
    io.out(json(vm));
    return 0;
  }
  io.out(`deployed ${vmLabel(vm)}: image ${vm.image} on ${vm.host}, ${vm.state}`);
  io.out(`id: ${vm.id}`);
  const plain = sshCommandLine(vm);
  if (args.wait && plain) {
    io.out(`connect: vgrid ssh ${vm.id}   (or: ${plain})`);
  } else {
    io.out(`follow it with \`vgrid show ${vm.id}\`; once it is running, connect with \`vgrid ssh ${vm.id}\``);
  }
  return 0;
}

// `vgrid ssh ID [-- ARGS]`: runs the real ssh to the VM, pinned to the VM's id so a reused port never trips known_hosts.

import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseCommand } from "../args.js";
import { ApiClient, type Vm } from "../client.js";
import { resolveVm } from "../resolve-vm.js";
import { Failure } from "../errors.js";
import { vmLabel, type CliIo } from "../output.js";

/**
 * ssh's arguments for VM: options, then the host, then EXTRA (what followed `--`).
 * OpenSSH still reads options that come after the host, so `-- -v` works as well as `-- uname -a`.
 */
export function buildSshArgv(vm: Vm, extra: string[]): string[] {
  if (!vm.ssh) throw new Failure(`${vmLabel(vm)} has no ssh endpoint (it is ${vm.state})`);
  const { host, port, user } = vm.ssh;
  // The host and user come from the server: a value that ssh would read as an option is refused.
  if (!/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(host) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user)) {
    throw new Failure(`${vmLabel(vm)} has an ssh endpoint that is not a plain host and user; refusing to pass it to ssh`);
  }
  return ["-p", String(port), "-o", `HostKeyAlias=vgrid-${vm.id}`, "-l", user, host, ...extra];
}

/** Splits at the first `--`: before it are ours, after it go to ssh untouched. */
export function splitAtDashes(argv: string[]): { own: string[]; extra: string[] } {
  const at = argv.indexOf("--");
  return at < 0 ? { own: argv, extra: [] } : { own: argv.slice(0, at), extra: argv.slice(at + 1) };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { own, extra } = splitAtDashes(argv);
  const { positionals } = parseCommand(own, {}, ["ID"]);
  const vm = await resolveVm(ApiClient.fromEnv(), positionals[0] ?? "");
  if (vm.state !== "running" || !vm.ssh) throw new Failure(notReachable(vm));
  if (!vm.responding) io.err(`vgrid: ${vmLabel(vm)} does not answer yet; trying anyway`);
  return runSsh(process.env.VGRID_SSH || "ssh", buildSshArgv(vm, extra));
}

function notReachable(vm: Vm): string {
  const label = vmLabel(vm);
  switch (vm.state) {
    case "pending":
    case "provisioning":
      return `${label} is ${vm.state}, not running yet: wait for it with \`vgrid show ${vm.id}\``;
    case "failed":
      return `${label} is failed: ${vm.error ?? "the server gave no reason"}`;
    default:
      return `${label} is ${vm.state}: there is nothing to connect to`;
  }
}

/** Runs ssh in the foreground and gives back its exit status, or 128+N when signal N ended it (as a shell does). */
function runSsh(command: string, args: string[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit" });
    // Ctrl-C reaches ssh by itself (the terminal signals the whole group): we stay to report ssh's status.
    // A SIGTERM or SIGHUP sent to us alone is passed on, so that ssh never outlives us.
    const ignore = () => {};
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const handlers = [["SIGINT", ignore], ["SIGTERM", forward], ["SIGHUP", forward]] as const;
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const cleanUp = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.on("error", (err) => {
      cleanUp();
      reject(new Failure(`cannot run ${command}: ${err.message}`));
    });
    child.on("exit", (code, signal) => {
      cleanUp();
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}

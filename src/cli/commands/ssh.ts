// `vgrid ssh ID [-- ARGS]`: runs the real ssh to the VM as root. The VM's host keys, which its node read
// from the guest at its first boot, go into a known_hosts file of vgrid's own under the VM's id as
// HostKeyAlias: ssh checks the guest with no first-use question and fails loudly on a mismatch, and a
// port reused by another VM never trips it.

import { spawn } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { parseCommand } from "../args.js";
import { ApiClient, type Vm } from "../client.js";
import { Failure } from "../errors.js";
import { KNOWN_HOSTS, configDir, identities } from "../local-keys.js";
import { vmLabel, type CliIo } from "../output.js";
import { resolveVm } from "../resolve-vm.js";

export interface SshSetup {
  /** vgrid's own known_hosts file. */
  knownHosts: string;
  /** Private keys the user named to vgrid (keys add, deploy --ssh-key) that ssh would not try by itself. */
  identities: string[];
}

/** The alias ssh files the VM's host keys under: its id, never its reusable address. */
export function hostKeyAlias(vm: Pick<Vm, "id">): string {
  return `vgrid-${vm.id}`;
}

/**
 * ssh's arguments for VM: options, then the host, then EXTRA (what followed `--`).
 * OpenSSH still reads options that come after the host, so `-- -v` works as well as `-- uname -a`.
 */
export function buildSshArgv(vm: Vm, extra: string[], setup: SshSetup): string[] {
  if (!vm.ssh) throw new Failure(`${vmLabel(vm)} has no ssh endpoint (it is ${vm.state})`);
  const { host, port, user } = vm.ssh;
  // The host and user come from the server: a value that ssh would read as an option is refused.
  if (!/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(host) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user)) {
    throw new Failure(`${vmLabel(vm)} has an ssh endpoint that is not a plain host and user; refusing to pass it to ssh`);
  }
  // Known keys: checked strictly. None yet (an image that does not print them): the first is taken.
  const checking = vm.sshHostKeys.length > 0 ? "yes" : "accept-new";
  return [
    "-p", String(port),
    "-o", `HostKeyAlias=${hostKeyAlias(vm)}`,
    "-o", `UserKnownHostsFile=${setup.knownHosts}`,
    "-o", `StrictHostKeyChecking=${checking}`,
    ...setup.identities.flatMap((file) => ["-i", file]),
    "-l", user,
    host,
    ...extra,
  ];
}

/** known_hosts text with the VM's lines replaced by its host keys as the server gives them. */
export function withHostKeys(knownHosts: string, vm: Vm): string {
  const alias = hostKeyAlias(vm);
  const others = knownHosts.split("\n").filter((line) => line.trim() !== "" && line.split(" ")[0] !== alias);
  const mine = vm.sshHostKeys.map((k) => `${alias} ${k.type} ${k.key}`);
  return [...others, ...mine].map((line) => `${line}\n`).join("");
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
  const knownHosts = join(configDir(), KNOWN_HOSTS);
  if (vm.sshHostKeys.length > 0) await writeKnownHosts(knownHosts, vm);
  else io.err(`vgrid: ${vmLabel(vm)} has not told its ssh host key; ssh accepts the one it offers now`);
  return runSsh(process.env.VGRID_SSH || "ssh", buildSshArgv(vm, extra, { knownHosts, identities: await identities() }));
}

async function writeKnownHosts(file: string, vm: Vm): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const before = await readFile(file, "utf8").catch(() => "");
  const after = withHostKeys(before, vm);
  if (after === before) return;
  // Whole or not at all: two `vgrid ssh` at once each write their own copy, then one wins.
  const tmp = `${file}.${process.pid}`;
  await writeFile(tmp, after, { mode: 0o600 });
  await rename(tmp, file);
}

function notReachable(vm: Vm): string {
  const label = vmLabel(vm);
  switch (vm.state) {
    case "pending":
    case "provisioning":
      return `${label} is ${vm.state}, not running yet: wait for it with \`vgrid show ${vm.name}\``;
    case "failed":
      return `${label} is failed: ${vm.error ?? "the server gave no reason"}`;
    case "stopped":
      return `${label} is stopped: start it with \`vgrid start ${vm.name}\``;
    case "expired":
      return `${label} is expired (stopped for its grace period): extend it to start it again, \`vgrid extend ${vm.name} --hours H\``;
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

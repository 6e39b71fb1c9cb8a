// The vgrid command's dispatcher: finds the command module for argv, runs it, and maps its outcome to an exit status.

import { vgridVersion } from "../core/repo.js";
import { UsageError, oneLine } from "./errors.js";
import type { CliIo } from "./output.js";

export type { CliIo };

export interface CommandModule {
  /** Runs the command with the words after its name, printing on `io`; resolves to the exit status. */
  run(argv: string[], io: CliIo): Promise<number>;
}

interface Command {
  usage: string;
  summary: string;
  /** Lazy, so that `vgrid ls` never loads the server, and starting the CLI stays fast. */
  load: () => Promise<CommandModule>;
}

const NODE_AGENT_BUNDLE = new URL("../../node-agent.mjs", import.meta.url).href;

/** Two-word commands are keyed by both words; their module receives what follows the second. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  up: {
    usage: "vgrid up [--data DIR] [--listen HOST:PORT] [--max-vms N] [--keep-vms] [--images DIR] [--config FILE]",
    summary: "run a server and a local node on this machine",
    load: () => import("./commands/up.js"),
  },
  server: {
    usage: "vgrid server --config server.toml",
    summary: "run the control plane alone",
    load: () => import("./commands/server.js"),
  },
  node: {
    usage: "vgrid node --config node.toml",
    summary: "run the agent alone, on a hypervisor",
    // The bundle `make build` makes of ./commands/node.js (see the Makefile: it saves 30 MB of memory).
    load: () => import(NODE_AGENT_BUNDLE) as Promise<CommandModule>,
  },
  "token create": {
    usage: "vgrid token create --user NAME [--admin] [--data DIR | --config FILE]",
    summary: "print a new API token for NAME (on the server machine)",
    load: () => import("./commands/token.js"),
  },
  "login-link": {
    usage: "vgrid login-link --user NAME [--admin] [--data DIR | --config FILE]",
    summary: "print a one-time URL that logs a browser in as NAME (on the server machine)",
    load: () => import("./commands/login-link.js"),
  },
  "user set": {
    usage: "vgrid user set NAME --admin|--no-admin [--data DIR | --config FILE]",
    summary: "promote a user to admin in the server's store, or end that (on the server machine)",
    load: () => import("./commands/user.js"),
  },
  keys: {
    usage: "vgrid keys add FILE | vgrid keys ls [--json] | vgrid keys rm N",
    summary: "your ssh public keys, which root on your new VMs accepts",
    load: () => import("./commands/keys.js"),
  },
  deploy: {
    usage: "vgrid deploy IMAGE [--memory MiB] [--cpus N] [--hours H] [--ssh-key FILE] [--wait [--timeout S]] [--json]",
    summary: "start a VM",
    load: () => import("./commands/deploy.js"),
  },
  ls: {
    usage: "vgrid ls [--all] [--json]",
    summary: "list your VMs (an admin's --all: everyone's)",
    load: () => import("./commands/ls.js"),
  },
  show: {
    usage: "vgrid show ID [--json]",
    summary: "show one VM and how to connect to it",
    load: () => import("./commands/show.js"),
  },
  terminate: {
    usage: "vgrid terminate ID [--reason TEXT] [--json]",
    summary: "stop a VM and delete its disks",
    load: () => import("./commands/terminate.js"),
  },
  stop: {
    usage: "vgrid stop ID [--force] [--json]",
    summary: "stop a VM, keeping its disk (--force: without asking its guest to power down)",
    load: () => import("./commands/power.js").then((m) => m.powerCommand("stop")),
  },
  start: {
    usage: "vgrid start ID [--json]",
    summary: "boot a stopped VM again from its disk",
    load: () => import("./commands/power.js").then((m) => m.powerCommand("start")),
  },
  reboot: {
    usage: "vgrid reboot ID [--force] [--json]",
    summary: "reboot a running VM (--force: a reset, without asking its guest)",
    load: () => import("./commands/power.js").then((m) => m.powerCommand("reboot")),
  },
  extend: {
    usage: "vgrid extend ID --hours H [--json]",
    summary: "push a VM's expiry out",
    load: () => import("./commands/extend.js"),
  },
  ssh: {
    usage: "vgrid ssh ID [-- SSH ARGS / COMMAND]",
    summary: "ssh into a VM as root",
    load: () => import("./commands/ssh.js"),
  },
  images: {
    usage: "vgrid images [--json]",
    summary: "list the images you can deploy",
    load: () => import("./commands/images.js"),
  },
  "image build": {
    usage: "vgrid image build RECIPE --out FILE",
    summary: "build a bootable qcow2 from Debian packages (recipes: tiny, debian)",
    load: () => import("./commands/image.js"),
  },
  "config new-node-secret": {
    usage: "vgrid config new-node-secret",
    summary: "print a new random node secret, for a host's token in server.toml and node.toml",
    load: () => import("./commands/config-secret.js"),
  },
  "config import-legacy": {
    usage: "vgrid config import-legacy --common common.cfg --server server.cfg --node node.cfg --out DIR [--node-name NAME]",
    summary: "turn a VGrid installation's config into server.toml and node.toml",
    load: () => import("./commands/config-import.js"),
  },
};

const HINT = "run `vgrid --help` for the commands";

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined) return usageError(io, "no command given");
  if (first === "help" || first === "--help" || first === "-h") {
    io.out(helpText());
    return 0;
  }
  if (first === "--version" || first === "version") {
    io.out(`vgrid ${vgridVersion()}`);
    return 0;
  }
  if (first.startsWith("-")) return usageError(io, `unknown flag ${first}`);

  let name = first;
  if (!COMMANDS[name]) {
    const subcommands = Object.keys(COMMANDS).filter((key) => key.startsWith(`${first} `));
    if (subcommands.length === 0) {
      const near = nearest(first, [...new Set(Object.keys(COMMANDS).map((key) => key.split(" ")[0]!))]);
      return usageError(io, `unknown command '${first}'${near ? `; did you mean 'vgrid ${near}'?` : ""}`);
    }
    name = `${first} ${second ?? ""}`;
    if (!COMMANDS[name]) {
      const what = second === undefined ? "needs a subcommand" : `has no subcommand '${second}'`;
      return usageError(io, `vgrid ${first} ${what}`, subcommands.map((key) => `vgrid ${key}`).join(", "));
    }
  }
  const command = COMMANDS[name]!;
  const rest = argv.slice(name.split(" ").length);
  if (wantsHelp(rest)) {
    io.out(`usage: ${command.usage}\n${command.summary}`);
    return 0;
  }
  try {
    const module = await command.load();
    return await module.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message, command.usage);
    if (io.debug && err instanceof Error && err.stack) io.err(err.stack);
    else io.err(`vgrid: ${oneLine(err instanceof Error ? err.message : String(err))}`);
    return 1;
  }
}

/** The candidate closest to `word` by edit distance, if it is close enough to be a typo of it. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word, name);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(1, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** --help before any `--` (after it, words belong to someone else, such as ssh). */
function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((word) => word === "--help" || word === "-h");
}

function usageError(io: CliIo, message: string, usage?: string): number {
  io.err(`vgrid: ${message}`);
  io.err(usage ? `usage: ${usage}` : HINT);
  return 2;
}

export function helpText(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`);
  return [
    "usage: vgrid COMMAND [ARGS]",
    "",
    ...lines,
    "",
    "Client commands talk to VGRID_URL (default http://127.0.0.1:8080) with the API token in VGRID_TOKEN;",
    "--json prints machine-readable output. VGRID_DEBUG=1 prints stack traces.",
    "Exit status: 0 success, 1 failure (one line on stderr), 2 usage; `vgrid ssh` exits with ssh's status.",
  ].join("\n");
}


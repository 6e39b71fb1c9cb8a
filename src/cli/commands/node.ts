// `vgrid node --config node.toml`: the agent alone, on a hypervisor.

import { hostname } from "node:os";
import { pino } from "pino";
import { loadNodeConfig } from "../../node/config-file.js";
import { startNode } from "../../node/node.js";
import { parseCommand } from "../args.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { untilSignal } from "../signals.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { config: { type: "string" }, "stop-vms": { type: "boolean", default: false } });
  if (values.config === undefined) throw new UsageError("missing --config node.toml");
  const c = await loadNodeConfig(values.config);
  // JSON lines on stderr, as the server's: one VM's story (its reqId) reads across both.
  const log = pino({ level: process.env.VGRID_LOG ?? "info", base: { node: c.name } }, pino.destination(2));
  const node = startNode({
    serverUrl: c.server,
    serverTrust: c.trust,
    nodeName: c.name,
    token: c.token,
    stateDir: c.stateDir,
    imageDirectory: c.imageDirectory,
    sshBind: c.sshBind,
    sshHost: c.sshHost ?? hostname(),
    driver: c.driver,
    simBootSeconds: c.simBootSeconds,
    log: (msg, fields) => log.info(fields ?? {}, msg),
  });
  const sim = c.driver === "sim" ? ", with the sim driver: a simulated hypervisor that runs no VM" : "";
  io.err(`vgrid node ${c.name} polling ${c.server}${sim}`);
  // An agent restart must re-adopt running VMs, so by default stopping the agent leaves them running.
  await untilSignal();
  await node.shutdown(values["stop-vms"]);
  return 0;
}

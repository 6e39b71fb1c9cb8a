// `vgrid server --config server.toml`: the control plane alone.

import { loadServerConfig } from "../../server/config.js";
import { startServer } from "../../server/server.js";
import { parseCommand } from "../args.js";
import { UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { untilSignal } from "../signals.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { config: { type: "string" } });
  if (values.config === undefined) throw new UsageError("missing --config server.toml");
  const config = await loadServerConfig(values.config);
  const server = await startServer(config, { logLevel: process.env.VGRID_LOG ?? "info" });
  io.err(`vgrid server listening on ${server.url}`);
  await untilSignal();
  await server.close();
  return 0;
}

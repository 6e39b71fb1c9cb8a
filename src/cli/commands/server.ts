// `vgrid server --config server.toml`: the control plane alone.

import { loadServerConfig } from "../../server/config.js";
import { startServer } from "../../server/server.js";
import { countAllTokens } from "../../server/store/users.js";
import { parseCommand } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { untilSignal } from "../signals.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { config: { type: "string" } });
  if (values.config === undefined) throw new UsageError("missing --config server.toml");
  const config = await loadServerConfig(values.config);
  const signalled = untilSignal();
  const server = await startServer(config, { logLevel: process.env.VGRID_LOG ?? "info" }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    throw new Failure(`port ${config.listen.port} on ${config.listen.host} is taken; set another in [listen] of ${values.config}`);
  });
  io.err(`vgrid server listening on ${server.url} (${config.hosts.length} hosts, ${config.images.length} images)`);
  if ((await countAllTokens(server.ctx.db)) === 0) {
    io.err(`no one can log in yet: on this machine, \`vgrid token create --user NAME --admin --config ${values.config}\` prints a token`);
  }
  const signal = await signalled;
  io.err(`vgrid server: ${signal}: closing (nodes retry on their own)`);
  await server.close();
  return 0;
}

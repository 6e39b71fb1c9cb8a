// `vgrid config new-node-secret`: a fresh node secret, alone on stdout, for a [[hosts]] token in
// server.toml and the same node's token in node.toml.

import { newNodeSecret } from "../../core/node-secret.js";
import { parseCommand } from "../args.js";
import type { CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  parseCommand(argv, {});
  io.out(newNodeSecret());
  return 0;
}

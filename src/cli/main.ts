// Entry point of the vgrid command (bin/vgrid runs this file): dispatches argv and sets the exit status.

import { runCli } from "./cli.js";

const status = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  debug: process.env.VGRID_DEBUG === "1",
});
// exitCode, not exit(): a long-running command (up, server) may still have work when its run() resolves.
process.exitCode = status;

// Entry point of the vgrid command (bin/vgrid runs this file): dispatches argv and sets the exit status.

import { runCli } from "./cli.js";
import { terminalSafe } from "./output.js";

// Every line a command prints is made safe here, once: what a node or another user sent (a VM's error,
// a problem's detail, a name) never reaches the terminal as an escape sequence. What is meant to be
// raw (a serial console) writes to the terminal itself.
const status = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${terminalSafe(line)}\n`),
  err: (line) => process.stderr.write(`${terminalSafe(line)}\n`),
  debug: process.env.VGRID_DEBUG === "1",
});
// exitCode, not exit(): a long-running command (up, server) may still have work when its run() resolves.
process.exitCode = status;

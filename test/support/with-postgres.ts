// Runs a command with one throwaway PostgreSQL for all of it: `make test` runs the integration and
// end-to-end suites through this, so that the whole run starts one cluster, not one per test file.
// Usage: node dist/test/support/with-postgres.js COMMAND [ARGS...]; exits with the command's status.

import { spawn } from "node:child_process";
import { startPostgres } from "./postgres.js";

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write("usage: with-postgres COMMAND [ARGS...]\n");
  process.exit(2);
}
const postgres = await startPostgres();
process.stderr.write(`with-postgres: a throwaway PostgreSQL at ${postgres.url}\n`);
const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, VGRID_TEST_POSTGRES_URL: postgres.url } });
// Ctrl-C reaches the command by itself (same process group); it ends, and then the cluster goes.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
const status = await new Promise<number>((resolve) => {
  child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  child.on("error", () => resolve(127));
});
await postgres.stop();
process.exit(status);

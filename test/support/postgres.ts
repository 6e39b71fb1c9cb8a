// A throwaway PostgreSQL for tests: initdb into a temporary directory, its own port on 127.0.0.1 and
// its own socket directory, stopped and removed afterwards. `make test` starts one for the whole run
// (with-postgres.ts) and hands its URL to every test in VGRID_TEST_POSTGRES_URL; a test run by hand
// without it starts its own. Each test takes a database of its own in it (freshDatabase).

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdtemp, readdir, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface Postgres {
  /** `postgres://vgrid@127.0.0.1:PORT/postgres`: the cluster's maintenance database. */
  url: string;
  stop(): Promise<void>;
  /** Stops the server as an operator would (`pg_ctl stop -m fast`: sessions are cut), keeping its data. */
  halt(): Promise<void>;
  /** Starts the halted server again, on the same port and data. */
  resume(): Promise<void>;
}

/** Debian's PostgreSQL server programs (package postgresql), the newest version installed. */
async function binDir(): Promise<string> {
  const versions = await readdir("/usr/lib/postgresql").catch(() => [] as string[]);
  const newest = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) throw new Error("PostgreSQL's server is not installed (/usr/lib/postgresql/*/bin): run `make deps`");
  return join("/usr/lib/postgresql", newest, "bin");
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** initdb refuses root: as root, the cluster belongs to Debian's `postgres` user. */
function asPostgres(program: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args];
}

export async function startPostgres(): Promise<Postgres> {
  const bin = await binDir();
  const dir = await mkdtemp(join(tmpdir(), "vgrid-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const stop = async () => {
    const [cmd, args] = asPostgres(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
    await run(cmd, args).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [initCmd, initArgs] = asPostgres(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "vgrid", "--no-sync", "-E", "UTF8", "--locale=C"]);
    await run(initCmd, initArgs, { timeout: 120_000 });
    const port = await freePort();
    // Durability off: a test cluster lives for one run; fsync would only make the suite slower.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
    const start = async () => {
      const [ctlCmd, ctlArgs] = asPostgres(join(bin, "pg_ctl"), ["-D", data, "-l", join(dir, "postgres.log"), "-o", options, "-w", "-t", "60", "start"]);
      await run(ctlCmd, ctlArgs, { timeout: 90_000 });
    };
    await start();
    const halt = async () => {
      const [cmd, args] = asPostgres(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
      await run(cmd, args, { timeout: 60_000 });
    };
    return { url: `postgres://vgrid@127.0.0.1:${port}/postgres`, stop, halt, resume: start };
  } catch (err) {
    await stop();
    throw err;
  }
}

let shared: Promise<Postgres> | undefined;

/** The run's PostgreSQL: the one `make test` started, or one of this process's own, stopped at exit. */
export function testPostgres(): Promise<Postgres> {
  const given = process.env.VGRID_TEST_POSTGRES_URL;
  if (given) {
    const notOurs = () => Promise.reject(new Error("the run's shared PostgreSQL is not this process's to halt: startPostgres() a cluster of the test's own"));
    return Promise.resolve({ url: given, stop: async () => {}, halt: notOurs, resume: notOurs });
  }
  if (!shared) {
    shared = startPostgres();
    void shared.then((p) => {
      process.once("beforeExit", () => void p.stop());
    });
  }
  return shared;
}

/** A new, empty database in the run's cluster; `drop` removes it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = await testPostgres();
  const name = `vgrid_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = server.url.replace(/\/postgres$/, `/${name}`);
  return {
    url,
    async drop() {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

// Benchmarks of the control plane, each measured side by side in one run (these machines are noisy):
//   placements  POST /vms through the real HTTP API with 1,000 simulated hosts, on SQLite and on
//               PostgreSQL, beside a bare Fastify POST handler driven by the same load generator.
//   list        an admin's GET /vms?all=true (first page) with 20,000 VMs, at 30 requests/s.
//   scaling     placement time per VM as hosts grow from 10 to 10,000.
//   rss         the server's RSS with 20,000 VMs; an idle node agent's (qemu driver, no VMs).
//   due         the indexed selection of the VMs due for a policy action among 100,000.
// Run: make build && .node/bin/node dist/bench/control-plane.js WHAT [--seconds S]
// Autocannon is the load generator; the server, the simulated nodes and the load each run in their
// own process. Figures go to stdout as Markdown rows.

import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pickFreePort } from "../src/node/drivers/qemu/ports.js";
import { startPostgres, type Postgres } from "../test/support/postgres.js";
import { eventually } from "../test/support/processes.js";
import { VgridProcess } from "../test/support/vgrid.js";
import { startCluster, type Cluster } from "./support/sim-cluster.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench";
const { values, positionals } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "32" }, hosts: { type: "string", default: "1000" } },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);

interface Load {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  other: number;
}

async function load(url: string, opts: { method: "POST" | "GET"; path: string; token?: string; body?: string; rate?: number }): Promise<Load> {
  const result = await autocannon({
    url: `${url}${opts.path}`,
    method: opts.method,
    connections: opts.rate === undefined ? connections : 4,
    duration: seconds,
    ...(opts.rate === undefined ? {} : { overallRate: opts.rate }),
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.body === undefined ? {} : { body: opts.body }),
  });
  return {
    rps: result["2xx"] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    other: result.non2xx + result.errors + result.timeouts,
  };
}

async function bareFastify<T>(work: (url: string) => Promise<T>): Promise<T> {
  const port = await pickFreePort("127.0.0.1");
  const proc = new VgridProcess(spawn(process.execPath, [join(import.meta.dirname, "support", "bare-fastify.js"), String(port)], { stdio: ["ignore", "pipe", "pipe"] }));
  try {
    await eventually("the bare Fastify", 30_000, async () => (proc.output.includes("listening") ? true : undefined), 50);
    return await work(`http://127.0.0.1:${port}`);
  } finally {
    await proc.stop("SIGTERM");
  }
}

async function withCluster<T>(store: "sqlite" | "postgres", opts: { hosts: number; maxVmsPerHost: number; hostnames: number; nodes: boolean }, work: (c: Cluster) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "vgrid-bench-"));
  let pg: Postgres | undefined;
  let cluster: Cluster | undefined;
  try {
    if (store === "postgres") pg = await startPostgres();
    cluster = await startCluster({ dir, ...opts, database: pg ? { url: pg.url } : { file: "vgrid.db" } });
    return await work(cluster);
  } finally {
    await cluster?.stop();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const row = (cells: (string | number)[]) => process.stdout.write(`| ${cells.join(" | ")} |\n`);
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function placements(): Promise<void> {
  const hosts = Number(values.hosts);
  const body = JSON.stringify({ image: "tiny", sshKeys: [KEY] });
  process.stdout.write(`POST /vms, ${connections} connections, ${seconds} s each, ${hosts} simulated hosts\n\n`);
  row(["server", "placements/s (201)", "p50", "p99", "other answers", "of bare Fastify"]);
  row(["---", "---", "---", "---", "---", "---"]);
  const bare = await bareFastify((url) => load(url, { method: "POST", path: "/api/v1/vms", body }));
  row(["bare Fastify POST", bare.rps.toFixed(0), ms(bare.p50), ms(bare.p99), bare.other, "1.00"]);
  for (const store of ["sqlite", "postgres"] as const) {
    const result = await withCluster(store, { hosts, maxVmsPerHost: 100, hostnames: 100_000, nodes: true }, async (c) => {
      const token = await c.tokenFor("bench");
      return load(c.url, { method: "POST", path: "/api/v1/vms", token, body });
    });
    row([`vgrid on ${store}`, result.rps.toFixed(0), ms(result.p50), ms(result.p99), result.other, (result.rps / bare.rps).toFixed(3)]);
  }
}

const benches: Record<string, () => Promise<void>> = { placements };
const what = positionals[0] ?? "";
const bench = benches[what];
if (!bench) {
  process.stderr.write(`usage: control-plane.js ${Object.keys(benches).join("|")} [--seconds S] [--connections N] [--hosts N]\n`);
  process.exit(2);
}
await bench();

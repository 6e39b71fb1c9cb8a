// Benchmarks of the control plane, each measured side by side in one run (these machines are noisy):
//   placements  POST /vms through the real HTTP API with 1,000 simulated hosts, on SQLite and on
//               PostgreSQL, beside a bare Fastify POST handler driven by the same load generator.
//   list        an admin's GET /vms?all=true (first page) with 20,000 VMs, at 30 requests/s.
//   scaling     placement time per VM as hosts grow from 10 to 10,000.
//               The server's RSS, empty and with the 20,000 VMs, is measured in the same run.
//   node-rss    an idle node agent's RSS (qemu driver, no VMs), beside a bare Node.js process.
//   due         the indexed selection of the VMs due for a policy action among 100,000.
// Run: make build && .node/bin/node dist/bench/control-plane.js WHAT [--seconds S]
// Autocannon is the load generator; the server, the simulated nodes and the load each run in their
// own process. Figures go to stdout as Markdown rows.

import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { DEFAULT_PAGE } from "../src/core/api.js";
import { pickFreePort } from "../src/node/drivers/qemu/ports.js";
import { ensureUser } from "../src/server/store/users.js";
import { vmsDue } from "../src/server/store/vms.js";
import { startPostgres, type Postgres } from "../test/support/postgres.js";
import { eventually } from "../test/support/processes.js";
import { startTestServer } from "../test/support/server.js";
import { VgridProcess, startVgrid } from "../test/support/vgrid.js";
import { hostName, secret, startCluster, type Cluster } from "./support/sim-cluster.js";
import { benchVmRow } from "./support/vm-rows.js";

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
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;

async function placements(): Promise<void> {
  const hosts = Number(values.hosts);
  const body = JSON.stringify({ image: "tiny", sshKeys: [KEY] });
  process.stdout.write(`POST /vms, ${connections} connections, ${seconds} s each, ${hosts} hosts, the simulated nodes' agents in a process of their own\n\n`);
  row(["server", "placements/s (201)", "p50", "p99", "other answers", "node syncs/s", "of bare Fastify"]);
  row(["---", "---", "---", "---", "---", "---", "---"]);
  const bare = await bareFastify((url) => load(url, { method: "POST", path: "/api/v1/vms", body }));
  row(["bare Fastify POST", bare.rps.toFixed(0), ms(bare.p50), ms(bare.p99), bare.other, "", "1.00"]);
  for (const nodes of [true, false]) {
    for (const store of ["sqlite", "postgres"] as const) {
      const [result, syncs] = await withCluster(store, { hosts, maxVmsPerHost: 100, hostnames: 100_000, nodes }, async (c) => {
        const token = await c.tokenFor("bench");
        const before = await syncCount(c.url);
        const result = await load(c.url, { method: "POST", path: "/api/v1/vms", token, body });
        return [result, (await syncCount(c.url)) - before] as const;
      });
      row([
        `vgrid on ${store}, ${nodes ? `${hosts} simulated nodes running` : "hosts online, no agents"}`,
        result.rps.toFixed(0),
        ms(result.p50),
        ms(result.p99),
        result.other,
        (syncs / seconds).toFixed(0),
        (result.rps / bare.rps).toFixed(3),
      ]);
    }
  }
}

/** A figure of the server's /metrics (which answers loopback). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} ([0-9.e+]+)`, "m").exec(text)?.[1] ?? NaN);
}

const syncCount = (url: string) => metric(url, "vgrid_node_syncs_total");
const heapUsed = async (url: string) => (await metric(url, "vgrid_nodejs_heap_size_used_bytes")) / 2 ** 20;

/** The resident set of process `pid` now and at its peak (VmRSS, VmHWM), in MiB. */
async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { now: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

/** `count` deploys through the API, 32 at a time, each answered 201 (the fill of a benchmark). */
async function fill(url: string, token: string, count: number): Promise<void> {
  const body = JSON.stringify({ image: "tiny", sshKeys: [KEY] });
  const result = await autocannon({
    url: `${url}/api/v1/vms`,
    method: "POST",
    connections: 32,
    amount: count,
    timeout: 60,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
  if (result["2xx"] !== count) throw new Error(`the fill placed ${result["2xx"]} of ${count} VMs (${result.non2xx} other answers, ${result.errors} errors)`);
}

/** GET `path` at `rate` requests/s for `seconds`, each sent on time whether or not the ones before have
 * been answered (an open loop: a slow server cannot slow the load down); the latencies, sorted. */
async function paced(url: string, token: string | undefined, rate: number): Promise<number[]> {
  const pending: Array<Promise<number>> = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    pending.push(
      (async () => {
        const sent = performance.now();
        const res = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
        return performance.now() - sent;
      })(),
    );
  }
  return (await Promise.all(pending)).sort((a, b) => a - b);
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function list(): Promise<void> {
  const vms = 20_000;
  const rate = 30;
  process.stdout.write(`An admin's GET /vms?all=true (the first page, ${DEFAULT_PAGE} VMs) with ${vms} VMs in the store, ${rate} requests/s for ${seconds} s\n\n`);
  row(["server", "p50", "p95", "p99", "server RSS empty (JS heap used)", "server RSS with 20,000 VMs (JS heap used; peak RSS)"]);
  row(["---", "---", "---", "---", "---", "---"]);
  const bare = await bareFastify((url) => paced(`${url}/api/v1/vms`, undefined, rate));
  row(["bare Fastify GET of a page held in memory", ms(quantile(bare, 0.5)), ms(quantile(bare, 0.95)), ms(quantile(bare, 0.99)), "", ""]);
  for (const store of ["sqlite", "postgres"] as const) {
    await withCluster(store, { hosts: 200, maxVmsPerHost: 100, hostnames: vms, nodes: false }, async (c) => {
      const pid = c.server.child.pid!;
      const empty = await rss(pid);
      const emptyHeap = await heapUsed(c.url);
      await fill(c.url, await c.tokenFor("bench"), vms);
      const admin = await c.tokenFor("admin", true);
      const first = await fetch(`${c.url}/api/v1/vms?all=true`, { headers: { authorization: `Bearer ${admin}` } });
      const page = (await first.json()) as { items: unknown[]; next: string | null };
      if (page.items.length !== DEFAULT_PAGE || page.next === null) throw new Error(`the first page has ${page.items.length} VMs`);
      const latencies = await paced(`${c.url}/api/v1/vms?all=true`, admin, rate);
      const full = await rss(pid);
      const fullHeap = await heapUsed(c.url);
      row([
        `vgrid on ${store}`,
        ms(quantile(latencies, 0.5)),
        ms(quantile(latencies, 0.95)),
        ms(quantile(latencies, 0.99)),
        `${empty.now.toFixed(0)} MiB (${emptyHeap.toFixed(0)} MiB)`,
        `${full.now.toFixed(0)} MiB (${fullHeap.toFixed(0)} MiB; ${full.peak.toFixed(0)} MiB)`,
      ]);
    });
  }
}

async function scaling(): Promise<void> {
  const counts = [10, 100, 1000, 10_000];
  const body = JSON.stringify({ image: "tiny", sshKeys: [KEY] });
  process.stdout.write(`Placement time per VM: POST /vms one at a time (1 connection), the median for ${seconds} s, hosts online, 200,000 slots\n\n`);
  row(["store", ...counts.map((n) => `${n} hosts`), "10,000 / 10"]);
  row(["---", ...counts.map(() => "---"), "---"]);
  for (const store of ["sqlite", "postgres"] as const) {
    const medians: number[] = [];
    for (const hosts of counts) {
      const median = await withCluster(store, { hosts, maxVmsPerHost: 200_000 / hosts, hostnames: 100_000, nodes: false }, async (c) => {
        const token = await c.tokenFor("bench");
        const times: number[] = [];
        const until = performance.now() + seconds * 1000;
        while (performance.now() < until) {
          const t0 = performance.now();
          const res = await fetch(`${c.url}/api/v1/vms`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
          await res.arrayBuffer();
          times.push(performance.now() - t0);
          if (res.status !== 201) throw new Error(`a deploy with ${hosts} hosts was answered ${res.status}`);
        }
        return quantile(times.sort((a, b) => a - b), 0.5);
      });
      medians.push(median);
    }
    row([store, ...medians.map((m) => ms(m)), (medians.at(-1)! / medians[0]!).toFixed(2)]);
  }
}

/** An idle node agent with the qemu driver, beside a bare Node.js process and a sim driver agent. */
async function nodeRss(): Promise<void> {
  process.stdout.write("An idle node agent's RSS, connected to its server, no VMs, after 15 s\n\n");
  row(["process", "RSS", "peak"]);
  row(["---", "---", "---"]);
  await withCluster("sqlite", { hosts: 2, maxVmsPerHost: 10, hostnames: 10, nodes: false }, async (c) => {
    const dir = await mkdtemp(join(tmpdir(), "vgrid-bench-node-"));
    const procs: Array<[string, VgridProcess]> = [];
    try {
      procs.push(["bare Node.js (setInterval)", new VgridProcess(spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: ["ignore", "pipe", "pipe"] }))]);
      for (const [i, driver] of [[0, "qemu"], [1, "sim"]] as const) {
        const file = join(dir, `${driver}.toml`);
        await mkdir(join(dir, `images-${driver}`));
        await writeFile(
          file,
          `name = "${hostName(i)}"\nserver = "${c.url}"\ntoken = "${secret(i)}"\nstateDir = "state-${driver}"\nimageDirectory = "images-${driver}"\ndriver = "${driver}"\n`,
        );
        procs.push([`vgrid node, ${driver} driver`, startVgrid(["node", "--config", file], { VGRID_LOG: "warn" })]);
      }
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      for (const [name, proc] of procs) {
        if (!proc.running) throw new Error(`${name} exited: ${proc.output}`);
        const r = await rss(proc.child.pid!);
        row([name, `${r.now.toFixed(1)} MiB`, `${r.peak.toFixed(1)} MiB`]);
      }
    } finally {
      for (const [, proc] of procs) await proc.stop("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** The selection of the VMs due for a policy action among 100,000, with its index and without. */
async function due(): Promise<void> {
  const total = 100_000;
  process.stdout.write(`vmsDue among ${total} VMs (10% terminated, expiries spread over 30 days): the first 1,000 due, median of 20\n\n`);
  row(["store", "with vms_due", "without it (full scan)", "without / with"]);
  row(["---", "---", "---", "---"]);
  const pg = await startPostgres();
  process.env.VGRID_TEST_POSTGRES_URL = pg.url;
  try {
    for (const store of ["sqlite", "postgres"] as const) {
      const server = await startTestServer({ hosts: [{ name: "h1", maxVms: total, memoryMiB: 1 << 30, cpus: 1 << 20, token: "bench-node-secret-0000000000000000" }], rateLimit: { deploysPerUserPerMinute: 0 } }, store);
      try {
        const db = server.ctx.db;
        await ensureUser(db, "bench", false, new Date().toISOString());
        const now = Date.now();
        const month = 30 * 24 * 3600_000;
        for (let i = 0; i < total; i += 1000) {
          await db
            .insertInto("vms")
            .values(
              Array.from({ length: 1000 }, (_, j) => {
                const n = i + j;
                return benchVmRow(n, now, {
                  state: n % 10 === 0 ? "terminated" : "running",
                  // A deterministic spread over the month to come.
                  expires_at: new Date(now + ((n * 7919) % total) * (month / total)).toISOString(),
                });
              }),
            )
            .execute();
        }
        if (store === "postgres") await sql`analyze vms`.execute(db);
        // Up to the time by which about 1,000 live VMs are due.
        const before = new Date(now + (month * 1200) / total);
        const time = async () => {
          const times: number[] = [];
          for (let k = 0; k < 20; k++) {
            const t0 = performance.now();
            const got = await vmsDue(db, before, 1000);
            times.push(performance.now() - t0);
            if (got.length !== 1000) throw new Error(`vmsDue answered ${got.length} VMs`);
          }
          return quantile(times.sort((a, b) => a - b), 0.5);
        };
        const indexed = await time();
        await db.schema.dropIndex("vms_due").execute();
        const scanned = await time();
        row([store, ms(indexed), ms(scanned), (scanned / indexed).toFixed(1)]);
      } finally {
        await server.close();
      }
    }
  } finally {
    await pg.stop();
  }
}

const benches: Record<string, () => Promise<void>> = { placements, list, scaling, "node-rss": nodeRss, due };
const what = positionals[0] ?? "";
const bench = benches[what];
if (!bench) {
  process.stderr.write(`usage: control-plane.js ${Object.keys(benches).join("|")} [--seconds S] [--connections N] [--hosts N]\n`);
  process.exit(2);
}
await bench();

// The benchmarks' cluster: a real `vgrid server` process (SQLite or PostgreSQL) with a pool of many
// hosts, and simulated nodes for them in this process, each a real agent with the sim driver that
// authenticates as its own host over the real HTTP protocol. Nothing boots: the sim driver's guests
// "answer" after simBootSeconds.

import { execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { eventually } from "../../test/support/processes.js";
import { VGRID, VgridProcess, startVgrid } from "../../test/support/vgrid.js";

const run = promisify(execFile);

export interface ClusterOptions {
  dir: string;
  hosts: number;
  maxVmsPerHost: number;
  hostnames: number;
  /** server.toml's [database]: a file name in dir, or a PostgreSQL url. */
  database: { file: string } | { url: string };
  /** Whether simulated nodes run for the hosts, in a process of their own (they sync and long-poll as nodes do). */
  nodes: boolean;
}

export interface Cluster {
  url: string;
  server: VgridProcess;
  config: string;
  tokenFor(user: string, admin?: boolean): Promise<string>;
  stop(): Promise<void>;
}

export const hostName = (i: number) => `sim${String(i).padStart(5, "0")}`;
export const secret = (i: number) => `bench-node-secret-${String(i).padStart(16, "0")}`;

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const port = await pickFreePort("127.0.0.1");
  const config = join(opts.dir, "server.toml");
  const database = "url" in opts.database ? `url = "${opts.database.url}"` : `file = "${opts.database.file}"`;
  const hosts: string[] = [];
  for (let i = 0; i < opts.hosts; i++) {
    hosts.push(`[[hosts]]\nname = "${hostName(i)}"\nmaxVms = ${opts.maxVmsPerHost}\nmemoryMiB = 1048576\ncpus = 4096\ntoken = "${secret(i)}"`);
  }
  await writeFile(
    config,
    [
      'admins = ["admin"]',
      "nodeOfflineAfterSeconds = 600",
      `[listen]\nhost = "127.0.0.1"\nport = ${port}`,
      `[database]\n${database}`,
      `[hostnames]\ncount = ${opts.hostnames}`,
      // One user deploys thousands of VMs a minute here: that is the load measured, not abuse.
      "[rateLimit]\ndeploysPerUserPerMinute = 0",
      ...hosts,
      '[[images]]\ntag = "tiny"\nname = "Tiny"\ndisk = "tiny.qcow2"\nminMemoryMiB = 128\ndefaultMemoryMiB = 128',
      "",
    ].join("\n"),
  );
  const server = startVgrid(["server", "--config", config], { VGRID_LOG: "warn" });
  const url = `http://127.0.0.1:${port}`;
  await eventually("the bench server to answer", 120_000, async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 200);
  let nodes: VgridProcess | undefined;
  if (opts.nodes) {
    nodes = new VgridProcess(
      spawn(process.execPath, [join(import.meta.dirname, "sim-nodes.js"), url, String(opts.hosts)], { stdio: ["ignore", "pipe", "pipe"] }),
    );
    await eventually("the simulated nodes to be online", 300_000, async () => {
      if (!nodes!.running) throw new Error(`the simulated nodes exited: ${nodes!.output}`);
      return nodes!.output.includes("online") ? true : undefined;
    }, 200);
  } else {
    // Hosts online without agents: each syncs once, as its node would, and stays online 10 minutes.
    for (let i = 0; i < opts.hosts; i++) {
      const res = await fetch(`${url}/api/v1/nodes/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret(i)}`, "content-type": "application/json" },
        body: JSON.stringify({ node: hostName(i), version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 1, cpus: 1 }, reports: [] }),
      });
      if (!res.ok) throw new Error(`sync of ${hostName(i)}: ${res.status} ${await res.text()}`);
    }
  }
  return {
    url,
    server,
    config,
    async tokenFor(user, admin = false) {
      const { stdout } = await run(VGRID, ["token", "create", "--user", user, ...(admin ? ["--admin"] : []), "--config", config]);
      return stdout.trim().split("\n").at(-1)!;
    },
    async stop() {
      await nodes?.stop("SIGTERM");
      await server.stop("SIGTERM");
    },
  };
}

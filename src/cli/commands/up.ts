// `vgrid up`: a server and a local node on this machine, on an embedded SQLite store, with zero config.

import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { hostname as osHostname } from "node:os";
import { dirname, resolve } from "node:path";
import { readImageSidecars, type ImageEntry } from "../../core/image.js";
import { readToml, validateConfig } from "../../core/toml-config.js";
import { builtImagesDir } from "../../core/repo.js";
import { hostResources, startNode } from "../../node/node.js";
import { buildServerConfig, ServerFileSchema, type ServerConfig } from "../../server/config.js";
import { DataDirBusy, dataPaths, lockDataDir } from "../../server/data-dir.js";
import { startServer } from "../../server/server.js";
import type { Db } from "../../server/store/db.js";
import { ensureUser, issueToken, userForToken } from "../../server/store/users.js";
import { parseCommand, positiveInteger } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { untilSignal } from "../signals.js";

const LOCAL_HOST = "local";
const ADMIN = "admin";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, {
    data: { type: "string", default: "./vgrid-data" },
    listen: { type: "string", default: "127.0.0.1:8080" },
    "max-vms": { type: "string" },
    "keep-vms": { type: "boolean", default: false },
    images: { type: "string" },
    config: { type: "string" },
  });
  const listen = parseListen(values.listen);
  const maxVmsFlag = positiveInteger("--max-vms", values["max-vms"], "VMs on this machine");
  const dataDir = resolve(values.data);
  const paths = dataPaths(dataDir);
  const imageDirectory = resolve(values.images ?? builtImagesDir());
  const sidecars = await readImageSidecars(imageDirectory);
  const resources = hostResources();
  const maxVms = maxVmsFlag ?? defaultMaxVms(resources);
  const nodeToken = randomBytes(32).toString("base64url");
  const config = await upConfig({ file: values.config, listen, database: paths.database, maxVms, resources, nodeToken, sidecars });
  if (config.images.length === 0) {
    throw new Failure(`no image in ${imageDirectory}: run \`make build\` (or \`vgrid image build tiny --out ${imageDirectory}/tiny.qcow2\`)`);
  }

  await mkdir(paths.nodeState, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(paths.lock).catch((err: unknown) => {
    throw err instanceof DataDirBusy ? new Failure(err.message) : err;
  });
  // Each part started is stopped again, in reverse order, however the rest goes.
  const cleanups: Array<() => Promise<void>> = [unlock];
  try {
    const signalled = untilSignal();
    const server = await startServer(config, { localHost: LOCAL_HOST, logLevel: process.env.VGRID_LOG ?? "warn" });
    cleanups.push(() => server.close());
    const node = startNode({
      serverUrl: server.url,
      nodeName: LOCAL_HOST,
      token: nodeToken,
      stateDir: paths.nodeState,
      imageDirectory,
      sshBind: listen.host,
      sshHost: listen.host === "0.0.0.0" ? osHostname() : listen.host,
      log: nodeLog(io),
    });
    // An error ends vgrid up like a crash: the VMs run on, to be re-adopted. Only a signal stops them.
    let keepVms = true;
    cleanups.push(() => node.shutdown(!keepVms));
    if ((await Promise.race([node.agent.online().then(() => "online" as const), signalled])) === "online") {
      const token = await adminToken(server.ctx.db, paths.adminToken);
      io.err(`vgrid is up: ${server.url} (local node online, up to ${maxVms} VMs, images: ${config.images.map((i) => i.tag).join(", ")})`);
      io.out(welcome(server.url, token, dataDir));
    }
    const signal = await signalled;
    keepVms = values["keep-vms"];
    io.err(`vgrid: ${signal}: ${keepVms ? "leaving the VMs running" : "stopping the VMs"}...`);
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

function welcome(url: string, token: string, dataDir: string): string {
  return [
    `VGRID_URL=${url}`,
    `API docs: ${url}/api/docs`,
    "Log in from a shell as the admin with:",
    `  export VGRID_URL=${url} VGRID_TOKEN=${token}`,
    "  vgrid deploy tiny --wait",
    `Other users: vgrid token create --user NAME --data ${dataDir}`,
  ].join("\n");
}

function nodeLog(io: CliIo): (msg: string, fields?: Record<string, unknown>) => void {
  const verbose = process.env.VGRID_LOG === "debug" || process.env.VGRID_LOG === "info";
  return (msg, fields) => {
    if (verbose) io.err(`node: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
  };
}

/** One box: memory and cpus are overcommitted so that --max-vms is the only limit to think about. */
const UP_OVERCOMMIT = { memory: 4, cpus: 16 };

/**
 * vgrid up's settings: a server.toml's when --config names one (its policies, logins, hostname pool and
 * images), with vgrid up's own listen address, data dir and one local host in their place.
 */
async function upConfig(up: {
  file: string | undefined;
  listen: { host: string; port: number };
  database: string;
  maxVms: number;
  resources: { memoryMiB: number; cpus: number };
  nodeToken: string;
  sidecars: ImageEntry[];
}): Promise<ServerConfig> {
  const raw = up.file === undefined ? {} : await readToml(up.file);
  // The file is checked as it is first, so that its own mistakes are named against it.
  const file = validateConfig(up.file ?? "vgrid up", raw, ServerFileSchema);
  const given = (key: string) => typeof raw === "object" && raw !== null && key in raw;
  const listed = new Set(file.images.map((i) => i.tag));
  return buildServerConfig(
    {
      ...file,
      listen: up.listen,
      database: { file: up.database },
      overcommit: given("overcommit") ? file.overcommit : UP_OVERCOMMIT,
      admins: [ADMIN, ...file.admins],
      hosts: [{ name: LOCAL_HOST, maxVms: up.maxVms, memoryMiB: up.resources.memoryMiB, cpus: up.resources.cpus, token: up.nodeToken }],
      hostnames: given("hostnames") ? file.hostnames : { count: Math.max(64, up.maxVms * 4) },
      // An image the file lists wins over a sidecar of the same tag.
      images: [...file.images, ...up.sidecars.filter((i) => !listed.has(i.tag))],
    },
    { file: up.file ?? "vgrid up", dir: up.file === undefined ? process.cwd() : dirname(resolve(up.file)) },
  );
}

/** HOST:PORT with an IPv4 address (QEMU's forwarded ssh ports listen on the same one), or localhost. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^([^:]+):(\d{1,5})$/.exec(text);
  const host = match?.[1] === "localhost" ? "127.0.0.1" : match?.[1];
  const port = Number(match?.[2]);
  if (host === undefined || !isIPv4(host) || port > 65535) {
    throw new UsageError(`--listen must be IPV4:PORT (like 127.0.0.1:8080 or 0.0.0.0:8080), not '${text}'`);
  }
  return { host, port };
}

/** Room for a few tiny VMs per core, bounded by memory (a TCG guest's QEMU takes about 300 MiB). */
function defaultMaxVms(r: { memoryMiB: number; cpus: number }): number {
  return Math.max(1, Math.min(r.cpus * 4, Math.floor(r.memoryMiB / 1024)));
}

/** The admin's token, kept in the data directory so that every `vgrid up` on it prints the same one. */
async function adminToken(db: Db, file: string): Promise<string> {
  const now = new Date().toISOString();
  const kept = await readFile(file, "utf8").then((t) => t.trim(), () => "");
  if (kept && (await userForToken(db, kept, now))) return kept;
  await ensureUser(db, ADMIN, true, now);
  const issued = await issueToken(db, ADMIN, "vgrid up", now);
  await writeFile(file, `${issued.secret}\n`, { mode: 0o600 });
  return issued.secret;
}

// `vgrid up`: a server and a local node on this machine, on an embedded SQLite store, with zero config.

import { X509Certificate, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer, isIPv4 } from "node:net";
import { hostname as osHostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { readImageSidecars, type ImageEntry } from "../../core/image.js";
import { readToml, validateConfig } from "../../core/toml-config.js";
import { builtImagesDir, repoRoot } from "../../core/repo.js";
import { hostResources, startNode } from "../../node/node.js";
import type { ServerTrust } from "../../node/server-trust.js";
import { buildServerConfig, ServerFileSchema, type ServerConfig } from "../../server/config.js";
import { dataPaths, lockDataDir, makeDataDir } from "../../server/data-dir.js";
import { LockBusy } from "../../server/pid-lock.js";
import { startServer } from "../../server/server.js";
import { createLoginLink } from "../../server/store/sessions.js";
import { parseCommand, positiveInteger } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { readKeyFile, rememberIdentity } from "../local-keys.js";
import { prepareAdmin, type AdminWelcome } from "../up-admin.js";
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

  // Nothing is made in the data dir unless vgrid can listen: a taken port leaves no store behind.
  if (listen.port !== 0 && !(await isFree(listen.host, listen.port))) throw portTaken(listen);
  const fresh = !existsSync(dataDir);
  await makeDataDir(dataDir);
  const unlock = await lockDataDir(paths.lock).catch((err: unknown) => {
    throw err instanceof LockBusy ? new Failure(err.message) : err;
  });
  // Each part started is stopped again, in reverse order, however the rest goes.
  const cleanups: Array<() => Promise<void>> = [unlock];
  let started = false;
  try {
    const signalled = untilSignal();
    const server = await startServer(config, { localHost: LOCAL_HOST, logLevel: process.env.VGRID_LOG ?? "warn" }).catch(
      (err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === "EADDRINUSE" ? portTaken(listen) : err;
      },
    );
    started = true;
    cleanups.push(() => server.close());
    await rm(paths.oldAdminToken, { force: true });
    const node = startNode({
      serverUrl: server.url,
      ...(config.tls ? { serverTrust: await ownCertificate(config.tls.cert) } : {}),
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
      const admin = await prepareAdmin(server.ctx.db, ADMIN);
      // Browsers reach the portal at its publicUrl when the config gives one.
      const portal = config.publicUrl ?? server.url;
      await writeFile(paths.url, `${portal}\n`, { mode: 0o600 });
      const link = `${portal}/auth/link/${await createLoginLink(server.ctx.db, ADMIN, true, new Date())}`;
      // The person who ran vgrid up has the private halves: `vgrid ssh` offers them (their HOME's).
      for (const file of admin.keyFiles) await rememberIdentity(await readKeyFile(file)).catch(() => undefined);
      io.err(`vgrid is up: ${server.url} (local node online, up to ${maxVms} VMs, images: ${config.images.map((i) => i.tag).join(", ")})`);
      io.out(welcome({ url: server.url, dataDir, admin, image: config.images[0]!.tag, link }));
    }
    const signal = await signalled;
    keepVms = values["keep-vms"];
    io.err(`vgrid: ${signal}: ${keepVms ? "leaving the VMs running" : "stopping the VMs"}...`);
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    // A first start that never got going leaves no data dir to wonder about.
    if (fresh && !started) await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * What to type next, as it can be typed: with the checkout's bin on PATH unless it is there, the token
 * of the first start (printed only then), and the admin's keys.
 */
function welcome(w: { url: string; dataDir: string; admin: AdminWelcome; image: string; link: string }): string {
  const bin = join(repoRoot(), "bin");
  const onPath = (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && resolve(dir) === bin);
  const path = onPath ? "" : `PATH=${bin}:$PATH `;
  const dataFlag = w.dataDir === resolve("vgrid-data") ? "" : ` --data ${w.dataDir}`;
  const lines = [
    `VGRID_URL=${w.url}`,
    `Log in from a browser as the admin (this link works once, for 15 minutes; vgrid login-link --user ${ADMIN}${dataFlag} makes another):`,
    `  ${w.link}`,
    "Log in from a shell as the admin with:",
  ];
  if (w.admin.token !== null) {
    lines.push(`  export ${path}VGRID_URL=${w.url} VGRID_TOKEN=${w.admin.token}`);
  } else {
    lines.push(`  export ${path}VGRID_URL=${w.url}`, `  export VGRID_TOKEN=$(vgrid token create --user ${ADMIN}${dataFlag})   # or the token printed at the first start`);
  }
  if (w.admin.hasKeys) {
    lines.push(`  vgrid deploy ${w.image} --wait`, "  vgrid ssh NAME -- hostname              # NAME: what deploy printed (vgrid ls lists them)");
  } else {
    lines.push(`  mkdir -p -m 700 ~/.ssh && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && vgrid keys add ~/.ssh/id_ed25519.pub`, `  vgrid deploy ${w.image} --wait`);
  }
  if (w.admin.keyFiles.length > 0) lines.push(`The admin's VMs accept the ssh keys of this machine's user: ${w.admin.keyFiles.join(", ")}`);
  lines.push(`Other users: vgrid token create --user NAME${dataFlag}`, `API docs: ${w.url}/api/docs`);
  return lines.join("\n");
}

/**
 * Under [tls] the local node trusts exactly the certificate its in-process server serves, whatever
 * names it carries (a site's certificate is for vgrid.example.org, the node dials 127.0.0.1).
 */
async function ownCertificate(file: string): Promise<ServerTrust> {
  const pem = await readFile(file, "utf8");
  return { ca: pem, pinnedFingerprint: new X509Certificate(pem).fingerprint256 };
}

function portTaken(listen: { host: string; port: number }): Failure {
  return new Failure(
    `port ${listen.port} on ${listen.host} is taken (another vgrid up?); pick another with --listen ${listen.host}:${listen.port + 1}`,
  );
}

/** Whether nothing listens on host:port now. */
function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => done(true)));
  });
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

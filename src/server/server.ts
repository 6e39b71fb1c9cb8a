// Starts the control plane: opens the store, writes the configured catalog, listens, runs the periodic
// work (on the replica that holds its lease) and the mail sender; closes all of it gracefully, in reverse order.

import type { FastifyInstance } from "fastify";
import { randomUUID } from "node:crypto";
import { pino, type Logger } from "pino";
import { buildApp } from "./api/app.js";
import type { ServerConfig } from "./config.js";
import type { ServerContext } from "./context.js";
import { Hub } from "./events/hub.js";
import { nodesOffline } from "./jobs/nodes-offline.js";
import { PeriodicJobs } from "./jobs/periodic.js";
import { sessionsExpired } from "./jobs/sessions-expired.js";
import { policyPass } from "./policies/policy-job.js";
import { lockPidFile } from "./pid-lock.js";
import { syncCatalog } from "./store/catalog.js";
import { createMetrics } from "./metrics.js";
import { openStore, requireSqliteDirectory, type Db } from "./store/db.js";
import { GroupCommit } from "./store/group-commit.js";
import { findVm } from "./store/vms.js";
import { PostgresBus } from "./events/bus.js";
import { checkMailSetup, createMailSender } from "./mail/sender.js";
import { httpsOptions } from "./tls.js";

export interface RunningServer {
  ctx: ServerContext;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface ContextOptions {
  localHost?: string;
  log?: Logger;
  now?: () => Date;
}

/** The store opened and migrated, the catalog written from the config: everything but the HTTP side. */
export async function openServerContext(config: ServerConfig, opts: ContextOptions = {}): Promise<ServerContext> {
  const now = opts.now ?? (() => new Date());
  // The gauges read the store when scraped: it is opened just below, with the query timer of these metrics.
  const store: { db?: Db } = {};
  const hub = new Hub();
  const metrics = createMetrics(
    () => store.db!,
    () => new Date(now().getTime() - config.nodeOfflineAfterSeconds * 1000).toISOString(),
    () => hub.openWatches,
  );
  const db = await openStore(config.database, { onQuery: (ms) => metrics.storeQueryDuration.observe(ms / 1000) });
  store.db = db;
  try {
    await syncCatalog(db, config, now().toISOString());
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const log = opts.log ?? pino({ level: "silent" });
  const replica = randomUUID();
  const ctx: ServerContext = {
    db,
    writes: new GroupCommit(db),
    config,
    hub,
    now,
    replica,
    log,
    metrics,
    ...(opts.localHost ? { localHost: opts.localHost } : {}),
  };
  if (config.database.kind === "postgres") {
    try {
      ctx.bus = await PostgresBus.start(config.database.url, replica, { onMessage: (m) => hub.receive(m), onReconnect: () => hub.wakeAll() }, log);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    hub.connect(ctx.bus, (id) => findVm(db, id));
  }
  return ctx;
}

/** Closes what openServerContext opened. */
export async function closeServerContext(ctx: ServerContext): Promise<void> {
  await ctx.bus?.close();
  await ctx.db.destroy();
}

/**
 * How often the periodic work ticks: often enough that a silent node is marked offline soon after its
 * limit, and that the policy pass runs every [policy] interval (each job keeps its own pace).
 */
export function periodicIntervalMs(config: ServerConfig): number {
  return Math.min(15_000, (config.nodeOfflineAfterSeconds * 1000) / 4, config.policy.intervalSeconds * 1000);
}

export async function startServer(
  config: ServerConfig,
  opts: { localHost?: string; logLevel?: string } = {},
): Promise<RunningServer> {
  // JSON lines on stderr (stdout is for what a command prints), one per meaningful event.
  const log = pino({ level: opts.logLevel ?? "warn" }, pino.destination(2));
  // SQLite has one writer: one server per file. Replicas need a store they can share.
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    // The PEM files are checked before anything is made: a wrong [tls] file leaves no store behind.
    await httpsOptions(config);
    const mailSetup = await checkMailSetup(config);
    if (config.database.kind === "sqlite") {
      const file = config.database.file;
      requireSqliteDirectory(file);
      cleanups.push(
        await lockPidFile(
          `${file}.server-lock`,
          (pid) => `another vgrid server (pid ${pid}) uses the SQLite store ${file}: one server per SQLite file; to run several, put the store on PostgreSQL ([database] url in server.toml)`,
        ),
      );
    }
    const ctx = await openServerContext(config, { log, ...(opts.localHost ? { localHost: opts.localHost } : {}) });
    cleanups.push(() => closeServerContext(ctx));
    const app = await buildApp(ctx, { loggerInstance: log });
    cleanups.push(() => app.close());
    await app.listen({ host: config.listen.host, port: config.listen.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.listen.port;
    const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
    const url = `${config.tls ? "https" : "http"}://${host}:${port}`;
    ctx.listenUrl = url;
    const jobs = new PeriodicJobs(ctx, [nodesOffline, sessionsExpired, policyPass], periodicIntervalMs(config));
    jobs.start();
    cleanups.push(() => jobs.stop());
    // Its own loop beside the periodic work, on every replica: a slow SMTP server never holds up a pass.
    const sender = createMailSender(ctx, mailSetup);
    sender.start();
    cleanups.push(() => sender.stop());
    return { ctx, app, url, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

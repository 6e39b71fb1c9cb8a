// Starts the control plane: opens the store, writes the configured catalog, listens; closes gracefully.

import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { buildApp } from "./api/app.js";
import type { ServerConfig } from "./config.js";
import type { ServerContext } from "./context.js";
import { Hub } from "./events/hub.js";
import { syncCatalog } from "./store/catalog.js";
import { openStore } from "./store/db.js";

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
  const db = await openStore(config.database);
  const now = opts.now ?? (() => new Date());
  try {
    await syncCatalog(db, config, now().toISOString());
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return {
    db,
    config,
    hub: new Hub(),
    now,
    log: opts.log ?? pino({ level: "silent" }),
    ...(opts.localHost ? { localHost: opts.localHost } : {}),
  };
}

export async function startServer(
  config: ServerConfig,
  opts: { localHost?: string; logLevel?: string } = {},
): Promise<RunningServer> {
  const log = pino({ level: opts.logLevel ?? "warn" });
  const ctx = await openServerContext(config, { log, ...(opts.localHost ? { localHost: opts.localHost } : {}) });
  const app = await buildApp(ctx, { loggerInstance: log });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close();
    await ctx.db.destroy();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  return {
    ctx,
    app,
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await ctx.db.destroy();
    },
  };
}

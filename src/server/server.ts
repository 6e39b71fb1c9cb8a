// Starts the control plane: opens the store, writes the configured catalog, listens; closes gracefully.

import type { FastifyInstance } from "fastify";
import { buildApp } from "./api/app.js";
import type { ServerConfig } from "./config.js";
import type { ServerContext } from "./context.js";
import { Hub } from "./events/hub.js";
import { syncCatalog } from "./store/catalog.js";
import { openSqliteStore } from "./store/db.js";

export interface RunningServer {
  ctx: ServerContext;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startServer(
  config: ServerConfig,
  opts: { localHost?: string; logLevel?: string } = {},
): Promise<RunningServer> {
  const db = await openSqliteStore(config.database.file);
  const now = () => new Date();
  await syncCatalog(db, config, now().toISOString());
  const ctx: ServerContext = { db, config, hub: new Hub(), now, ...(opts.localHost ? { localHost: opts.localHost } : {}) };
  const app = await buildApp(ctx, { logger: { level: opts.logLevel ?? "warn" } });
  ctx.log = app.log;
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close();
    await db.destroy();
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
      await db.destroy();
    },
  };
}

// An in-process vgrid server on a real SQLite file, for API tests that need no VM to boot.
// Its one host is brought online through the real node protocol (a sync with the node's token).

import type { FastifyInstance } from "fastify";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { buildApp } from "../../src/server/api/app.js";
import { numberedHostnames, type ServerConfig } from "../../src/server/config.js";
import type { ServerContext } from "../../src/server/context.js";
import { Hub } from "../../src/server/events/hub.js";
import { syncCatalog } from "../../src/server/store/catalog.js";
import { openSqliteStore } from "../../src/server/store/db.js";
import { ensureUser, issueToken } from "../../src/server/store/users.js";
import { tempDir } from "./vgrid.js";

export const NODE_TOKEN = "node-token-for-tests-0123456789";
/** A well-formed public key, for API tests where no one logs in to the VM. */
export const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

export interface TestServer {
  app: FastifyInstance;
  ctx: ServerContext;
  tokenFor(user: string, admin?: boolean): Promise<string>;
  bringNodeOnline(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(over: Partial<ServerConfig> = {}): Promise<TestServer> {
  const dir = await tempDir("api");
  const config: ServerConfig = {
    listen: { host: "127.0.0.1", port: 0 },
    database: { file: join(dir, "vgrid.db") },
    overcommit: { memory: 1, cpus: 1 },
    expiry: { defaultHours: 24, maxHours: 48 },
    quota: { maxVmsPerUser: null },
    nodeOfflineAfterSeconds: 60,
    admins: ["root-admin"],
    hosts: [{ name: "h1", maxVms: 5, memoryMiB: 8192, cpus: 8, token: NODE_TOKEN }],
    hostnames: numberedHostnames("vm", 20),
    images: [
      {
        tag: "tiny",
        name: "Tiny",
        boot: "direct",
        disk: "tiny.qcow2",
        kernel: "tiny.vmlinuz",
        initrd: "tiny.initrd",
        cmdline: "console=ttyS0 vgrid_username=${username}",
        minMemoryMiB: 128,
        defaultMemoryMiB: 256,
        maxMemoryMiB: 2048,
        maxCpus: 2,
      },
    ],
    ...over,
  };
  const db = await openSqliteStore(config.database.file);
  const now = () => new Date();
  await syncCatalog(db, config, now().toISOString());
  const ctx: ServerContext = { db, config, hub: new Hub(), now };
  const app = await buildApp(ctx, { logger: false });
  return {
    app,
    ctx,
    async tokenFor(user, admin = false) {
      await ensureUser(db, user, admin, now().toISOString());
      return (await issueToken(db, user, "test", now().toISOString())).secret;
    },
    async bringNodeOnline() {
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/nodes/sync",
        headers: { authorization: `Bearer ${NODE_TOKEN}` },
        payload: { node: "h1", version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 8192, cpus: 8 }, reports: [] },
      });
      if (res.statusCode !== 200) throw new Error(`node sync failed: ${res.statusCode} ${res.body}`);
    },
    async close() {
      await app.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// An in-process vgrid server on a real SQLite file, for API tests that need no VM to boot.
// Its one host is brought online through the real node protocol (a sync with the node's token).

import assert from "node:assert/strict";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { Logger } from "pino";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Vm } from "../../src/core/api.js";
import type { SyncRequest } from "../../src/core/protocol.js";
import { buildApp } from "../../src/server/api/app.js";
import { buildServerConfig, type ServerConfig } from "../../src/server/config.js";
import type { ServerContext } from "../../src/server/context.js";
import { closeServerContext, openServerContext } from "../../src/server/server.js";
import { ensureUser, issueToken } from "../../src/server/store/users.js";
import { freshDatabase } from "./postgres.js";
import { tempDir } from "./vgrid.js";

/** Every store test and API test runs on each of these, as Kysely's own suite does. */
export const DIALECTS = ["sqlite", "postgres"] as const;
export type Dialect = (typeof DIALECTS)[number];

/**
 * server.toml's `[database]` for a test on `dialect`: a SQLite file in `dir`, or a fresh database in
 * the run's throwaway PostgreSQL; `drop` removes the latter.
 */
export async function testDatabase(dialect: Dialect, dir: string): Promise<{ database: Record<string, string>; drop(): Promise<void> }> {
  if (dialect === "sqlite") return { database: { file: join(dir, "vgrid.db") }, drop: async () => {} };
  const pg = await freshDatabase();
  return { database: { url: pg.url }, drop: () => pg.drop() };
}

export const NODE_TOKEN = "node-token-for-tests-0123456789abcdef";
export const SECOND_NODE_TOKEN = "second-node-token-for-tests-0123456789abcdef";
/** server.toml's hosts for a test of two nodes: h1 (NODE_TOKEN) and h2 (SECOND_NODE_TOKEN). */
export const TWO_HOSTS = [
  { name: "h1", maxVms: 5, memoryMiB: 8192, cpus: 8, token: NODE_TOKEN },
  { name: "h2", maxVms: 5, memoryMiB: 8192, cpus: 8, token: SECOND_NODE_TOKEN },
];
/** A well-formed public key, for API tests where no one logs in to the VM. */
export const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

/** The tiny image as its sidecar describes it. */
export const TINY_IMAGE = {
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
};

/** A node's sync that reports nothing, as `node` sends it; `over` sets the version or the wait. */
export function syncBody(node: string, over: Partial<SyncRequest> = {}): SyncRequest {
  return { node, version: 0, waitSeconds: 0, sshHost: "127.0.0.1", facts: { memoryMiB: 8192, cpus: 8 }, reports: [], ...over };
}

export interface TestServer {
  app: FastifyInstance;
  ctx: ServerContext;
  tokenFor(user: string, admin?: boolean): Promise<string>;
  bringNodeOnline(): Promise<void>;
  /** `method /api/v1PATH` as the holder of `token`, with `payload` as its JSON body. */
  call(token: string, method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, payload?: object): Promise<LightMyRequestResponse>;
  /** A new tiny VM of `token`'s holder (`over` adds to the request), or a failed assertion. */
  deploy(token: string, over?: Record<string, unknown>): Promise<Vm>;
  /** The value of a metric without labels, as /metrics answers it now. */
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

/** A test server's settings: one host h1 (NODE_TOKEN), 20 names, the tiny image; `over` replaces whole top-level keys. */
export function testServerConfig(dir: string, database: Record<string, string>, over: Record<string, unknown> = {}): ServerConfig {
  return buildServerConfig(
    {
      listen: { host: "127.0.0.1", port: 0 },
      database,
      overcommit: { memory: 1, cpus: 1 },
      expiry: { defaultHours: 24, maxHours: 48 },
      admins: ["root-admin"],
      hosts: [{ name: "h1", maxVms: 5, memoryMiB: 8192, cpus: 8, token: NODE_TOKEN }],
      hostnames: { count: 20 },
      images: [TINY_IMAGE],
      ...over,
    },
    { file: "test server.toml", dir },
  );
}

/**
 * A test server on `dialect` (SQLite unless told); `over` replaces whole top-level keys of its
 * server.toml settings (as a file would set them); `log` hears the server's log (silent unless given).
 */
export async function startTestServer(over: Record<string, unknown> = {}, dialect: Dialect = "sqlite", log?: Logger): Promise<TestServer> {
  const dir = await tempDir("api");
  const store = await testDatabase(dialect, dir);
  const config = testServerConfig(dir, store.database, over);
  const ctx = await openServerContext(config, log ? { log } : {});
  const app = await buildApp(ctx, { logger: false });
  const now = () => new Date().toISOString();
  const call: TestServer["call"] = (token, method, path, payload) =>
    app.inject({ method, url: `/api/v1${path}`, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  return {
    app,
    ctx,
    async tokenFor(user, admin = false) {
      await ensureUser(ctx.db, user, admin, now());
      return (await issueToken(ctx.db, user, "test", now())).secret;
    },
    call,
    async deploy(token, over = {}) {
      const res = await call(token, "POST", "/vms", { image: "tiny", sshKeys: [KEY], ...over });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<Vm>();
    },
    async bringNodeOnline() {
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/nodes/sync",
        headers: { authorization: `Bearer ${NODE_TOKEN}` },
        payload: syncBody("h1"),
      });
      if (res.statusCode !== 200) throw new Error(`node sync failed: ${res.statusCode} ${res.body}`);
    },
    async metric(name) {
      const text = (await app.inject({ method: "GET", url: "/metrics" })).body;
      const value = new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1];
      if (value === undefined) throw new Error(`no series ${name} among the metrics:\n${text}`);
      return Number(value);
    },
    async close() {
      await app.close();
      await closeServerContext(ctx);
      await store.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

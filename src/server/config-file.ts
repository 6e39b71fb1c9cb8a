// server.toml: its schema with defaults, read into a frozen ServerConfig.

import { dirname, resolve } from "node:path";
import { Type } from "typebox";
import { ConfigError } from "../core/errors.js";
import { normalizeUsername } from "../core/names.js";
import { loadTomlConfig } from "../core/toml-config.js";
import { numberedHostnames, type ServerConfig } from "./config.js";

const HostSchema = Type.Object(
  {
    name: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$" }),
    maxVms: Type.Integer({ minimum: 0 }),
    memoryMiB: Type.Integer({ minimum: 1 }),
    cpus: Type.Integer({ minimum: 1 }),
    token: Type.String({ minLength: 16 }),
  },
  { additionalProperties: false },
);

const ImageSchema = Type.Object(
  {
    tag: Type.String({ pattern: "^[a-z0-9][a-z0-9._-]{0,63}$" }),
    name: Type.String({ minLength: 1 }),
    boot: Type.Union([Type.Literal("direct"), Type.Literal("disk")], { default: "disk" }),
    disk: Type.String({ pattern: "^[^/]+$" }),
    kernel: Type.Union([Type.String({ pattern: "^[^/]+$" }), Type.Null()], { default: null }),
    initrd: Type.Union([Type.String({ pattern: "^[^/]+$" }), Type.Null()], { default: null }),
    cmdline: Type.Union([Type.String(), Type.Null()], { default: null }),
    minMemoryMiB: Type.Integer({ minimum: 16, default: 128 }),
    defaultMemoryMiB: Type.Integer({ minimum: 16, default: 512 }),
    maxMemoryMiB: Type.Integer({ minimum: 16, default: 4096 }),
    maxCpus: Type.Integer({ minimum: 1, default: 4 }),
  },
  { additionalProperties: false },
);

export const ServerFileSchema = Type.Object(
  {
    admins: Type.Array(Type.String(), { default: [] }),
    listen: Type.Object(
      { host: Type.String({ default: "127.0.0.1" }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }) },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object({ file: Type.String({ default: "vgrid.db" }) }, { additionalProperties: false, default: {} }),
    overcommit: Type.Object(
      { memory: Type.Number({ exclusiveMinimum: 0, default: 1 }), cpus: Type.Number({ exclusiveMinimum: 0, default: 4 }) },
      { additionalProperties: false, default: {} },
    ),
    expiry: Type.Object(
      { defaultHours: Type.Number({ exclusiveMinimum: 0, default: 24 }), maxHours: Type.Number({ exclusiveMinimum: 0, default: 336 }) },
      { additionalProperties: false, default: {} },
    ),
    quota: Type.Object(
      { maxVmsPerUser: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { default: null }) },
      { additionalProperties: false, default: {} },
    ),
    nodeOfflineAfterSeconds: Type.Integer({ minimum: 30, default: 60 }),
    hosts: Type.Array(HostSchema, { default: [] }),
    hostnames: Type.Object(
      {
        prefix: Type.String({ pattern: "^[a-z][a-z0-9-]{0,40}$", default: "vm" }),
        count: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
        pool: Type.Array(
          Type.Object(
            { name: Type.String({ pattern: "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" }), extra: Type.String({ default: "" }), mac: Type.String({ pattern: "^([0-9a-f]{2}:){5}[0-9a-f]{2}$" }) },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    images: Type.Array(ImageSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export async function loadServerConfig(file: string): Promise<ServerConfig> {
  const c = await loadTomlConfig(file, ServerFileSchema);
  const base = dirname(resolve(file));
  return Object.freeze({
    listen: c.listen,
    // A relative database path is relative to the config file, not to wherever the server was started.
    database: { file: resolve(base, c.database.file) },
    overcommit: c.overcommit,
    expiry: c.expiry,
    quota: c.quota,
    nodeOfflineAfterSeconds: c.nodeOfflineAfterSeconds,
    admins: c.admins.map((name, i) => {
      try {
        return normalizeUsername(name);
      } catch (err) {
        throw new ConfigError(file, `admins[${i}]`, (err as Error).message);
      }
    }),
    hosts: c.hosts,
    hostnames: [...c.hostnames.pool, ...numberedHostnames(c.hostnames.prefix, c.hostnames.count)],
    images: c.images,
  });
}

// The server's settings: server.toml's schema with its defaults, and the one function that builds the
// typed, frozen ServerConfig from it, for `vgrid server`, `vgrid up` and the tests alike.

import { dirname, resolve } from "node:path";
import { Type, type Static } from "typebox";
import { ConfigError } from "../core/errors.js";
import { ImageEntrySchema, imageEntryProblem, type ImageEntry } from "../core/image.js";
import { HOST_NAME_PATTERN, MAC_PATTERN, POOL_HOSTNAME_PATTERN, normalizeUsername } from "../core/names.js";
import { nodeSecretProblem } from "../core/node-secret.js";
import { readToml, validateConfig } from "../core/toml-config.js";
import type { StoreLocation } from "./store/db.js";

const HostSchema = Type.Object(
  {
    name: Type.String({ pattern: HOST_NAME_PATTERN }),
    maxVms: Type.Integer({ minimum: 0 }),
    memoryMiB: Type.Integer({ minimum: 1 }),
    cpus: Type.Integer({ minimum: 1 }),
    /** The node's secret, checked by nodeSecretProblem. */
    token: Type.String(),
  },
  { additionalProperties: false },
);

const HostnameSchema = Type.Object(
  {
    name: Type.String({ pattern: POOL_HOSTNAME_PATTERN }),
    extra: Type.String({ default: "" }),
    mac: Type.String({ pattern: MAC_PATTERN }),
  },
  { additionalProperties: false },
);

/** A limit of the quota: a count, or null for none. */
const Limit = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { default: null });

const UserQuotaSchema = Type.Object(
  {
    maxVms: Type.Optional(Type.Integer({ minimum: 0 })),
    maxMemoryMiB: Type.Optional(Type.Integer({ minimum: 0 })),
    maxCpus: Type.Optional(Type.Integer({ minimum: 0 })),
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
    database: Type.Object(
      {
        /** The embedded SQLite store's file (the default). */
        file: Type.String({ default: "vgrid.db" }),
        /** A PostgreSQL database instead: several servers on one are replicas of one control plane. */
        url: Type.Optional(Type.String({ pattern: "^postgres(ql)?://" })),
      },
      { additionalProperties: false, default: {} },
    ),
    overcommit: Type.Object(
      { memory: Type.Number({ exclusiveMinimum: 0, default: 1 }), cpus: Type.Number({ exclusiveMinimum: 0, default: 4 }) },
      { additionalProperties: false, default: {} },
    ),
    expiry: Type.Object(
      { defaultHours: Type.Number({ exclusiveMinimum: 0, default: 24 }), maxHours: Type.Number({ exclusiveMinimum: 0, default: 336 }) },
      { additionalProperties: false, default: {} },
    ),
    quota: Type.Object(
      {
        maxVmsPerUser: Limit,
        maxMemoryMiBPerUser: Limit,
        maxCpusPerUser: Limit,
        /** `[quota.users.NAME]`: one user's own limits, over the defaults above. */
        users: Type.Record(Type.String(), UserQuotaSchema, { default: {} }),
      },
      { additionalProperties: false, default: {} },
    ),
    rateLimit: Type.Object(
      {
        /** Deploys (POST /vms) one user may ask for in a minute; 0 turns the limit off. */
        deploysPerUserPerMinute: Type.Integer({ minimum: 0, default: 60 }),
        /** Failed logins of one username, and from one address, in a minute; 0 turns each off. */
        loginFailuresPerUserPerMinute: Type.Integer({ minimum: 0, default: 5 }),
        loginFailuresPerAddressPerMinute: Type.Integer({ minimum: 0, default: 20 }),
      },
      { additionalProperties: false, default: {} },
    ),
    events: Type.Object(
      {
        /** How often an open event stream checks again that its credential still holds. */
        recheckSeconds: Type.Number({ exclusiveMinimum: 0, default: 30 }),
        /** Open event streams per user; one more is a 429. */
        maxStreamsPerUser: Type.Integer({ minimum: 1, default: 10 }),
        /** How long one stream lasts before the server ends it (the browser reconnects on its own). */
        lifetimeSeconds: Type.Number({ exclusiveMinimum: 0, default: 3600 }),
      },
      { additionalProperties: false, default: {} },
    ),
    nodeOfflineAfterSeconds: Type.Integer({ minimum: 30, default: 60 }),
    metrics: Type.Object(
      {
        /** Who may read /metrics without a token: addresses in CIDR form (an admin's token always may). */
        allow: Type.Array(Type.String({ pattern: "^[0-9a-fA-F:.]+/[0-9]{1,3}$" }), { default: ["127.0.0.0/8", "::1/128"] }),
      },
      { additionalProperties: false, default: {} },
    ),
    hosts: Type.Array(HostSchema, { default: [] }),
    hostnames: Type.Object(
      {
        prefix: Type.String({ pattern: "^[a-z][a-z0-9-]{0,40}$", default: "vm" }),
        count: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
        pool: Type.Array(HostnameSchema, { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    images: Type.Array(ImageEntrySchema, { default: [] }),
  },
  { additionalProperties: false },
);
/** server.toml as written, its defaults filled in. */
export type ServerFile = Static<typeof ServerFileSchema>;

/** The quota's defaults and, by normalised username, each listed user's own limits over them. */
export interface QuotaConfig {
  maxVmsPerUser: number | null;
  maxMemoryMiBPerUser: number | null;
  maxCpusPerUser: number | null;
  users: ReadonlyMap<string, UserQuota>;
}

export type UserQuota = Static<typeof UserQuotaSchema>;

export type HostConfig = Static<typeof HostSchema>;
export type HostnameConfig = Static<typeof HostnameSchema>;
export type ImageConfig = ImageEntry;

export interface ServerConfig {
  listen: { host: string; port: number };
  database: StoreLocation;
  /** Overcommit ratios: schedulable memory and cpus are the host's own times these. */
  overcommit: { memory: number; cpus: number };
  expiry: { defaultHours: number; maxHours: number };
  quota: QuotaConfig;
  rateLimit: { deploysPerUserPerMinute: number; loginFailuresPerUserPerMinute: number; loginFailuresPerAddressPerMinute: number };
  events: { recheckSeconds: number; maxStreamsPerUser: number; lifetimeSeconds: number };
  /** Seconds without a sync after which a node counts as offline. */
  nodeOfflineAfterSeconds: number;
  metrics: { allow: string[] };
  /** Normalised usernames (spaces become underscores). */
  admins: string[];
  hosts: HostConfig[];
  /** The listed pool first, then the numbered names. */
  hostnames: HostnameConfig[];
  images: ImageConfig[];
}

/** Where settings came from: named in errors; relative paths (the database file) are relative to `dir`. */
export interface ConfigSource {
  file: string;
  dir: string;
}

/**
 * The one way to a ServerConfig: `input` is server.toml's shape (from the file, or put together by
 * `vgrid up` or a test), checked against the schema with its defaults filled in, then normalised.
 */
export function buildServerConfig(input: unknown, source: ConfigSource): ServerConfig {
  const c = validateConfig(source.file, input, ServerFileSchema);
  const given = (input as { database?: Record<string, unknown> } | undefined)?.database ?? {};
  if ("file" in given && "url" in given) {
    throw new ConfigError(source.file, "database", "give file (SQLite) or url (PostgreSQL), not both");
  }
  const admins = c.admins.map((name, i) => {
    try {
      return normalizeUsername(name);
    } catch (err) {
      throw new ConfigError(source.file, `admins[${i}]`, (err as Error).message);
    }
  });
  c.hosts.forEach((host, i) => {
    const problem = nodeSecretProblem(host.token);
    if (problem) throw new ConfigError(source.file, `hosts[${i}].token`, problem);
  });
  // A node is known by its secret alone (before its request says which host it is): one secret per host.
  c.hosts.forEach((host, i) => {
    const first = c.hosts.findIndex((h) => h.token === host.token);
    if (first < i) throw new ConfigError(source.file, `hosts[${i}].token`, `is hosts[${first}]'s token too; give each host its own (vgrid config new-node-secret)`);
  });
  c.images.forEach((image, i) => {
    const problem = imageEntryProblem(image);
    if (problem) throw new ConfigError(source.file, `images[${i}].${problem.key}`, problem.reason);
  });
  const hostnames = [...c.hostnames.pool, ...numberedHostnames(c.hostnames.prefix, c.hostnames.count)];
  refuseDuplicates(source.file, "hosts", c.hosts.map((h) => h.name), "host name");
  refuseDuplicates(source.file, "images", c.images.map((i) => i.tag), "image tag");
  refuseDuplicates(source.file, "hostnames", hostnames.map((n) => n.name), "hostname (a listed name may not also be a numbered one)");
  refuseDuplicates(source.file, "hostnames", hostnames.map((n) => n.mac), "MAC address");
  return Object.freeze({
    listen: c.listen,
    // A relative database path is relative to the config file, not to wherever the server was started.
    database: storeLocation(c.database, source.dir),
    overcommit: c.overcommit,
    expiry: c.expiry,
    quota: { ...c.quota, users: quotaUsers(source.file, c.quota.users) },
    rateLimit: c.rateLimit,
    events: c.events,
    nodeOfflineAfterSeconds: c.nodeOfflineAfterSeconds,
    metrics: c.metrics,
    admins,
    hosts: c.hosts,
    hostnames,
    images: c.images,
  });
}

/** `[quota.users.NAME]` by normalised name ("Jane Doe" is Jane_Doe, as everywhere); a Map, so that no name is a property. */
function quotaUsers(file: string, users: ServerFile["quota"]["users"]): QuotaConfig["users"] {
  const byName = new Map<string, UserQuota>();
  for (const [given, limits] of Object.entries(users)) {
    let name: string;
    try {
      name = normalizeUsername(given);
    } catch (err) {
      throw new ConfigError(file, `quota.users.${given}`, (err as Error).message);
    }
    if (byName.has(name)) throw new ConfigError(file, `quota.users.${given}`, `user '${name}' is given twice; give each user one table`);
    byName.set(name, limits);
  }
  return byName;
}

function storeLocation(database: ServerFile["database"], dir: string): StoreLocation {
  return database.url !== undefined ? { kind: "postgres", url: database.url } : { kind: "sqlite", file: resolve(dir, database.file) };
}

function refuseDuplicates(file: string, key: string, values: string[], what: string): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw new ConfigError(file, key, `${what} '${value}' is given twice; each must be unique`);
    seen.add(value);
  }
}

/** server.toml read and built. */
export async function loadServerConfig(file: string): Promise<ServerConfig> {
  return buildServerConfig(await readToml(file), { file, dir: dirname(resolve(file)) });
}

/** A hostname pool of `prefix-001`... with MACs from the locally administered range 52:54:00 (QEMU's). */
export function numberedHostnames(prefix: string, count: number): HostnameConfig[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return {
      name: `${prefix}-${String(n).padStart(3, "0")}`,
      extra: "",
      mac: `52:54:00:${hex((n >> 16) & 0xff)}:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`,
    };
  });
}

const hex = (n: number) => n.toString(16).padStart(2, "0");

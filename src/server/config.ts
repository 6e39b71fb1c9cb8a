// The server's settings: server.toml's schema with its defaults, and the one function that builds the
// typed, frozen ServerConfig from it, for `vgrid server`, `vgrid up` and the tests alike.

import { dirname, resolve } from "node:path";
import { Type, type Static } from "typebox";
import { ConfigError } from "../core/errors.js";
import { ImageEntrySchema, imageEntryProblem, type ImageEntry } from "../core/image.js";
import { HOST_NAME_PATTERN, MAC_PATTERN, POOL_HOSTNAME_PATTERN, normalizeUsername } from "../core/names.js";
import { nodeSecretProblem } from "../core/node-secret.js";
import { readToml, validateConfig } from "../core/toml-config.js";
import { parseCidr } from "./auth/addresses.js";
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

/** A certificate subject's field as OpenSSL names it: CN, O, OU, emailAddress, UID... */
const SUBJECT_FIELD_PATTERN = "^[A-Za-z][A-Za-z0-9]{0,63}$";

/** A list of addresses in CIDR form. */
const Cidrs = Type.Array(Type.String({ pattern: "^[0-9a-fA-F:.]+/[0-9]{1,3}$" }));

const AuthSchema = Type.Object(
  {
    /** The seed's EnvUsernameVariable: a header a trusted reverse proxy sets (REMOTE_USER, a certificate CN...). */
    proxy: Type.Optional(
      Type.Object({ header: Type.String({ pattern: "^[A-Za-z0-9-]{1,64}$", default: "X-Remote-User" }), trustedProxies: Cidrs }, { additionalProperties: false }),
    ),
    /** An Apache password file: HTTP Basic on the API, and the login form. */
    htpasswd: Type.Optional(Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
    /** OpenID Connect single sign-on: the authorization code flow with PKCE, state and nonce. */
    oidc: Type.Optional(
      Type.Object(
        {
          issuer: Type.String({ minLength: 1 }),
          /** The CA of a provider whose certificate is the site's own (a PEM file). */
          ca: Type.Optional(Type.String({ minLength: 1 })),
          clientId: Type.String({ minLength: 1 }),
          clientSecret: Type.String({ minLength: 1 }),
          usernameClaim: Type.String({ minLength: 1, default: "preferred_username" }),
          groupsClaim: Type.String({ minLength: 1, default: "groups" }),
          adminGroups: Type.Array(Type.String(), { default: [] }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Client certificates (needs [tls]): checked against `ca`, the username from a subject field. */
    cert: Type.Optional(
      Type.Object(
        {
          ca: Type.String({ minLength: 1 }),
          usernameField: Type.String({ pattern: SUBJECT_FIELD_PATTERN, default: "CN" }),
          /** The seed's SSLRequire: subject field = a value, or a list of values of which any will do. */
          require: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })]), { default: {} }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Who may use the portal at all (the seed's `Require user ...`): the directory for every mode. */
    allow: Type.Optional(
      Type.Object({ users: Type.Array(Type.String(), { default: [] }), groups: Type.Array(Type.String(), { default: [] }) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false, default: {} },
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

/** A duration as server.toml writes it: a number and a unit, s m h or d (API.md). */
const DURATION_PATTERN = "^[0-9]+(\\.[0-9]+)?[smhd]$";
const Duration = Type.String({ pattern: DURATION_PATTERN });
const Duration30m = Type.String({ pattern: DURATION_PATTERN, default: "30m" });

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration of server.toml ("90s", "30m", "72h", "2d") in seconds. */
export function durationSeconds(text: string): number {
  const unit = text.at(-1) ?? "";
  return Number(text.slice(0, -1)) * (UNIT_SECONDS[unit] ?? NaN);
}

export const ServerFileSchema = Type.Object(
  {
    /** What browsers, mails and single sign-on redirects use; the portal's origin. */
    publicUrl: Type.Optional(Type.String({ pattern: "^https?://[^/?#]+/?$" })),
    auth: AuthSchema,
    /** The seed's key repository (copyuserkey): a user's keys, fetched when they stored none. */
    keys: Type.Optional(
      Type.Object({ url: Type.String({ pattern: "^https://[^\\s]+$" }), ca: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
    ),
    /** Serve HTTPS directly: the server's certificate (with its chain) and key, PEM files. */
    tls: Type.Optional(Type.Object({ cert: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
    sessions: Type.Object(
      {
        idleMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60, default: 60 }),
        absoluteHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 12 }),
      },
      { additionalProperties: false, default: {} },
    ),
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
      {
        defaultHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
        maxHours: Type.Number({ exclusiveMinimum: 0, default: 336 }),
        /** A mail before expiry at each of these, once per VM and expiry. */
        warnings: Type.Array(Duration, { default: ["72h", "24h", "1h"], maxItems: 10 }),
        /** More than 0: an expired VM is stopped and kept this long before it is terminated. */
        graceHours: Type.Number({ minimum: 0, default: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Outgoing mail (SMTP); without it, mails wait in the outbox. */
    mail: Type.Optional(
      Type.Object(
        {
          host: Type.String({ minLength: 1 }),
          port: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
          security: Type.Union([Type.Literal("starttls"), Type.Literal("tls"), Type.Literal("none")], { default: "starttls" }),
          user: Type.Optional(Type.String({ minLength: 1 })),
          password: Type.Optional(Type.String()),
          from: Type.String({ minLength: 3 }),
          /** A CA file for an SMTP server whose certificate is the site's own. */
          ca: Type.Optional(Type.String({ minLength: 1 })),
          /** Where a user's mail goes: `${username}` is their name. */
          userAddress: Type.String({ pattern: "\\$\\{username\\}", default: "${username}@localhost" }),
          admins: Type.Array(Type.String({ minLength: 3 }), { default: [] }),
        },
        { additionalProperties: false },
      ),
    ),
    liveness: Type.Object(
      {
        /** Not responding this long: one mail to the owner, and one when it answers again. */
        mailAfter: Duration30m,
        notifyAdmins: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    policy: Type.Object(
      {
        /** How often the policy pass runs. */
        interval: Type.String({ pattern: DURATION_PATTERN, default: "60s" }),
      },
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

/** The login modes server.toml turns on (bearer tokens and login links always work). */
export interface AuthConfig {
  proxy?: { header: string; trustedProxies: string[] };
  /** The password file's absolute path. */
  htpasswd?: { file: string };
  /** `ca` is the absolute path of a PEM file. */
  oidc?: OidcConfig;
  /** The CA file's absolute path; `require` with every value as a list. */
  cert?: { ca: string; usernameField: string; require: Record<string, string[]> };
  /** Normalised usernames. */
  allow?: { users: string[]; groups: string[] };
}

export interface OidcConfig {
  issuer: string;
  ca?: string;
  clientId: string;
  clientSecret: string;
  usernameClaim: string;
  groupsClaim: string;
  adminGroups: string[];
}

export interface ServerConfig {
  /** The file the settings came from (or what stands for it), named in errors found later. */
  source: string;
  /** The portal's origin and base URL, without a trailing slash; unset: the address it listens on. */
  publicUrl?: string;
  auth: AuthConfig;
  /** The key repository: `${username}` in the URL is the user's name; `ca` a CA file's absolute path. */
  keys?: { url: string; ca?: string };
  /** HTTPS: the absolute paths of the certificate and key files (read and checked by readTlsFiles). */
  tls?: { cert: string; key: string };
  sessions: { idleMinutes: number; absoluteHours: number };
  listen: { host: string; port: number };
  database: StoreLocation;
  /** Overcommit ratios: schedulable memory and cpus are the host's own times these. */
  overcommit: { memory: number; cpus: number };
  /** warningsSeconds: before expiry, longest first; graceHours 0: terminated at expiry. */
  expiry: { defaultHours: number; maxHours: number; warningsSeconds: number[]; graceHours: number };
  /** Outgoing mail; `ca` an absolute path. */
  mail?: MailConfig;
  liveness: { mailAfterSeconds: number; notifyAdmins: boolean };
  policy: { intervalSeconds: number };
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

export interface MailConfig {
  host: string;
  port: number;
  security: "starttls" | "tls" | "none";
  user?: string;
  password?: string;
  from: string;
  ca?: string;
  /** `${username}` stands for the user's name. */
  userAddress: string;
  admins: string[];
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
    source: source.file,
    ...(c.publicUrl === undefined ? {} : { publicUrl: c.publicUrl.replace(/\/$/, "") }),
    auth: authConfig(c.auth, c.publicUrl, source, c.tls !== undefined),
    ...(c.keys === undefined ? {} : { keys: { url: c.keys.url, ...(c.keys.ca === undefined ? {} : { ca: resolve(source.dir, c.keys.ca) }) } }),
    ...(c.tls === undefined ? {} : { tls: { cert: resolve(source.dir, c.tls.cert), key: resolve(source.dir, c.tls.key) } }),
    sessions: c.sessions,
    listen: c.listen,
    // A relative database path is relative to the config file, not to wherever the server was started.
    database: storeLocation(c.database, source.dir),
    overcommit: c.overcommit,
    expiry: {
      defaultHours: c.expiry.defaultHours,
      maxHours: c.expiry.maxHours,
      warningsSeconds: [...new Set(c.expiry.warnings.map(durationSeconds))].sort((a, b) => b - a),
      graceHours: c.expiry.graceHours,
    },
    ...(c.mail === undefined ? {} : { mail: { ...c.mail, ...(c.mail.ca === undefined ? {} : { ca: resolve(source.dir, c.mail.ca) }) } }),
    liveness: { mailAfterSeconds: durationSeconds(c.liveness.mailAfter), notifyAdmins: c.liveness.notifyAdmins },
    policy: { intervalSeconds: durationSeconds(c.policy.interval) },
    quota: { ...c.quota, users: quotaUsers(source.file, c.quota.users) },
    rateLimit: c.rateLimit,
    events: c.events,
    nodeOfflineAfterSeconds: c.nodeOfflineAfterSeconds,
    metrics: { allow: checkedCidrs(source.file, "metrics.allow", c.metrics.allow) },
    admins,
    hosts: c.hosts,
    hostnames,
    images: c.images,
  });
}

/** `cidrs` as given, each one an address in CIDR form, or a ConfigError naming it. */
function checkedCidrs(file: string, key: string, cidrs: string[]): string[] {
  cidrs.forEach((cidr, i) => {
    if (parseCidr(cidr) === undefined) throw new ConfigError(file, `${key}[${i}]`, `'${cidr}' is not an address in CIDR form (e.g. 127.0.0.1/32)`);
  });
  return cidrs;
}

/** The wildcards a proxy list must never hold: they would believe a header from anyone. */
const EVERY_ADDRESS = new Set(["*", "0.0.0.0/0", "::/0"]);

function authConfig(auth: ServerFile["auth"], publicUrl: string | undefined, source: ConfigSource, hasTls: boolean): AuthConfig {
  const out: AuthConfig = {};
  if (auth.proxy) {
    const { trustedProxies } = auth.proxy;
    if (trustedProxies.length === 0) {
      throw new ConfigError(source.file, "auth.proxy.trustedProxies", "is empty: list the addresses of the reverse proxies that set the header (e.g. [\"127.0.0.1/32\"])");
    }
    trustedProxies.forEach((cidr, i) => {
      if (EVERY_ADDRESS.has(cidr) || /\/0$/.test(cidr)) {
        throw new ConfigError(source.file, `auth.proxy.trustedProxies[${i}]`, `'${cidr}' trusts every address, so anyone could log in as anyone: list the proxies' own addresses`);
      }
    });
    checkedCidrs(source.file, "auth.proxy.trustedProxies", trustedProxies);
    out.proxy = auth.proxy;
  }
  if (auth.htpasswd) out.htpasswd = { file: resolve(source.dir, auth.htpasswd.file) };
  if (auth.oidc) out.oidc = oidcConfig(auth.oidc, publicUrl, source);
  if (auth.cert) {
    // A certificate is asked for in the TLS handshake: without vgrid's own HTTPS there is none to ask in.
    if (!hasTls) throw new ConfigError(source.file, "auth.cert", "needs [tls] (cert and key): client certificates are asked for only over HTTPS served by vgrid");
    const require: Record<string, string[]> = {};
    for (const [field, wanted] of Object.entries(auth.cert.require)) {
      if (!new RegExp(SUBJECT_FIELD_PATTERN).test(field)) {
        throw new ConfigError(source.file, `auth.cert.require.${field}`, "is not a subject field's name (like O, OU, CN, emailAddress)");
      }
      require[field] = typeof wanted === "string" ? [wanted] : [...wanted];
    }
    out.cert = { ca: resolve(source.dir, auth.cert.ca), usernameField: auth.cert.usernameField, require };
  }
  if (auth.allow) {
    out.allow = {
      users: auth.allow.users.map((name, i) => {
        try {
          return normalizeUsername(name);
        } catch (err) {
          throw new ConfigError(source.file, `auth.allow.users[${i}]`, (err as Error).message);
        }
      }),
      groups: auth.allow.groups,
    };
  }
  return out;
}

function oidcConfig(oidc: NonNullable<ServerFile["auth"]["oidc"]>, publicUrl: string | undefined, source: ConfigSource): OidcConfig {
  // The provider sends the browser back to publicUrl + /auth/oidc/callback: it must be the portal's own.
  if (publicUrl === undefined) {
    throw new ConfigError(source.file, "publicUrl", "is required with [auth.oidc]: the single sign-on sends browsers back to publicUrl + /auth/oidc/callback (e.g. \"https://vgrid.example.org\")");
  }
  let issuer: URL;
  try {
    issuer = new URL(oidc.issuer);
  } catch {
    throw new ConfigError(source.file, "auth.oidc.issuer", `'${oidc.issuer}' is not a URL: give the provider's issuer, e.g. "https://sso.example.org"`);
  }
  // ID tokens and the code exchange travel on this connection: plain HTTP would let anyone between log in as anyone.
  if (issuer.protocol !== "https:") {
    throw new ConfigError(source.file, "auth.oidc.issuer", `'${oidc.issuer}' is not HTTPS: the single sign-on is used over HTTPS only (a provider with the site's own certificate: give its CA as auth.oidc.ca)`);
  }
  const { ca, ...rest } = oidc;
  return { ...rest, ...(ca === undefined ? {} : { ca: resolve(source.dir, ca) }) };
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

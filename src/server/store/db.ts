// Opens the store: SQLite (WAL, the embedded default) or PostgreSQL, through Kysely, migrated to the
// latest schema before use. The same queries and migrations serve both.

import SQLite from "better-sqlite3";
import { chmodSync, closeSync, existsSync, openSync } from "node:fs";
import { dirname } from "node:path";
import {
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  sql,
  type KyselyConfig,
  type LogEvent,
  type SqliteDatabase,
  type Transaction,
} from "kysely";
import pg from "pg";
import { Migrator } from "kysely/migration";
import { migrationProvider } from "./migrations.js";
import { FairSqliteDialect } from "./sqlite-dialect.js";
import type { Database } from "./schema.js";

export type Db = Kysely<Database>;
/** What the store's functions take: the database itself, or a transaction of it. */
export type DbOrTx = Kysely<Database> | Transaction<Database>;

/** The store cannot be opened where it was asked for: says where and what to do. */
export class StoreError extends Error {}

/** Where the store is: a SQLite file, or a PostgreSQL database (server.toml's `[database]`). */
export type StoreLocation = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

export interface StoreOptions {
  /** Told the duration of every query (the metrics' store query time). */
  onQuery?: (durationMs: number) => void;
}

export async function openStore(location: StoreLocation, options: StoreOptions = {}): Promise<Db> {
  return location.kind === "sqlite" ? openSqliteStore(location.file, options) : openPostgresStore(location.url, options);
}

function logConfig(options: StoreOptions): KyselyConfig["log"] {
  const { onQuery } = options;
  if (onQuery === undefined) return undefined;
  return (event: LogEvent) => onQuery(event.queryDurationMillis);
}

/** Whether `db` is on PostgreSQL (row locks, LISTEN/NOTIFY) rather than SQLite (one writer at a time). */
export function isPostgres(db: DbOrTx): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** PostgreSQL's connections for one server; replicas each have their own. */
const POSTGRES_POOL_SIZE = 10;

export async function openPostgresStore(url: string, options: StoreOptions = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: POSTGRES_POOL_SIZE, connectionTimeoutMillis: 10_000 });
  // An idle connection the server closed (a restart) must not crash the process: the pool drops it.
  pool.on("error", () => undefined);
  // Nor one that breaks while a transaction holds it between statements: its next query fails, the
  // request gets a 503 and the pool drops the connection when it is given back.
  pool.on("connect", (client) => client.on("error", () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: logConfig(options) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy();
    throw new StoreError(`cannot reach PostgreSQL at ${redactedUrl(url)}: ${(err as Error).message}; check [database] url in server.toml`);
  }
  await migrateToLatest(db);
  return db;
}

/** Error codes that say the database is not there (or too busy to write), not that a query is wrong:
 * the network's, PostgreSQL's "shutting down", "cannot connect now" and "too many connections", and
 * SQLite's write lock held by another process longer than the driver waits for it (sqlite-dialect.ts). PostgreSQL's class 08 (connection exception) too. */
const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "57P01", "57P02", "57P03", "53300"]);
/** node-postgres's own words for a connection that broke or never came; these carry no code. */
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** Whether `err` means the store cannot be reached right now: answered 503, and retried by whoever asked. */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || /^08/.test(code) || code.startsWith("SQLITE_BUSY"))) return true;
  return UNAVAILABLE_MESSAGES.test(err.message);
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

/** Refuses a SQLite file whose directory does not exist, naming it and the fix. */
export function requireSqliteDirectory(file: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    throw new StoreError(`the directory ${dir} of the database file ${file} does not exist: create it (mkdir -p ${dir}) or set [database] file in server.toml`);
  }
}

/**
 * The store holds users' keys, the audit log and secrets' hashes: readable by the server's user alone.
 * The file is made 0600 before SQLite opens it, since SQLite gives its -wal and -shm files the mode of
 * the database's; one left more open by an older vgrid is closed up (its -wal and -shm with it).
 */
function makePrivate(file: string): void {
  closeSync(openSync(file, "a", 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

export async function openSqliteStore(file: string, options: StoreOptions = {}): Promise<Db> {
  requireSqliteDirectory(file);
  let sqlite: SQLite.Database;
  try {
    makePrivate(file);
    sqlite = new SQLite(file);
  } catch (err) {
    throw new StoreError(`cannot open the database file ${file}: ${(err as Error).message}`);
  }
  // Another process (`vgrid token create` while the server runs) may hold the write lock briefly: at
  // open, before anything is served, SQLite may wait for it; afterwards it must not, since it would
  // wait with the event loop stopped: the driver waits instead, yielding (sqlite-dialect.ts).
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 0");
  const db = new Kysely<Database>({ dialect: new FairSqliteDialect({ database: withStatementCache(sqlite) }), log: logConfig(options) });
  await migrateToLatest(db);
  return db;
}

/** Prepared statements kept per SQL text: Kysely's SQLite driver prepares every query anew, which is
 * most of a simple query's time. Bounded, since `in (?, ?, ...)` lists make texts of many lengths. */
const STATEMENT_CACHE_SIZE = 500;

function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement === undefined) {
        statement = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

/** Whether the store answers at all (readiness). */
export async function pingStore(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

async function migrateToLatest(db: Db): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error !== undefined || failed !== undefined) {
    throw new Error(`database migration ${failed?.migrationName ?? ""} failed: ${String(error)}`);
  }
}

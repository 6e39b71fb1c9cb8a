// Users and their API tokens. Tokens are random secrets shown once and stored as keyed hashes (secrets.ts).

import { randomBytes, randomUUID } from "node:crypto";
import type { Token } from "../../core/api.js";
import type { Page } from "../pages.js";
import { isPostgres, type DbOrTx } from "./db.js";
import type { UserRow } from "./schema.js";
import { hashSecret } from "./secrets.js";

export interface User {
  name: string;
  /** Listed in server.toml's admins, or promoted in the store. */
  admin: boolean;
  sshKeys: string[];
  maxVms: number | null;
  /** "cli" (made on the server machine: stands on its own) or the login mode that made the user. */
  origin: string;
  /** The groups the single sign-on said at the user's last login. */
  groups: string[];
}

/** The columns a User is read from. */
export const USER_COLUMNS = ["users.name", "users.admin", "users.config_admin", "users.ssh_keys", "users.max_vms", "users.origin", "users.groups"] as const;

export function toUser(row: Pick<UserRow, "name" | "admin" | "config_admin" | "ssh_keys" | "max_vms" | "origin" | "groups">): User {
  return {
    name: row.name,
    admin: row.admin === 1 || row.config_admin === 1,
    sshKeys: JSON.parse(row.ssh_keys) as string[],
    maxVms: row.max_vms,
    origin: row.origin,
    groups: JSON.parse(row.groups) as string[],
  };
}

export async function findUser(db: DbOrTx, name: string): Promise<User | undefined> {
  const row = await db.selectFrom("users").selectAll().where("name", "=", name).executeTakeFirst();
  return row && toUser(row);
}

/**
 * Locks the user's row until the transaction ends, so that their concurrent deploys check their quota
 * one after the other (PostgreSQL; SQLite runs one writing transaction at a time anyway).
 */
export async function lockUser(db: DbOrTx, name: string): Promise<void> {
  if (isPostgres(db)) await db.selectFrom("users").select("name").where("name", "=", name).forUpdate().execute();
}

/** Creates the user if needed; `admin` true also promotes an existing user (never demotes). */
export async function ensureUser(db: DbOrTx, name: string, admin: boolean, now: string): Promise<User> {
  await db
    .insertInto("users")
    .values({ name, admin: admin ? 1 : 0, config_admin: 0, ssh_keys: "[]", max_vms: null, created_at: now })
    .onConflict((oc) => (admin ? oc.column("name").doUpdateSet({ admin: 1 }) : oc.column("name").doNothing()))
    .execute();
  const user = await findUser(db, name);
  if (!user) throw new Error(`user ${name} vanished right after it was written`);
  return user;
}

/** Sets or clears the store's own promotion of the user; false if there is no such user. */
export async function setStoreAdmin(db: DbOrTx, name: string, admin: boolean): Promise<boolean> {
  const result = await db.updateTable("users").set({ admin: admin ? 1 : 0 }).where("name", "=", name).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Makes exactly `names` the admins server.toml lists, creating those not yet in the store. */
export async function setConfigAdmins(db: DbOrTx, names: readonly string[], now: string): Promise<void> {
  await db.updateTable("users").set({ config_admin: 0 }).where("config_admin", "=", 1).execute();
  for (const name of names) {
    await db
      .insertInto("users")
      .values({ name, admin: 0, config_admin: 1, ssh_keys: "[]", max_vms: null, created_at: now })
      .onConflict((oc) => oc.column("name").doUpdateSet({ config_admin: 1 }))
      .execute();
  }
}

export async function saveSshKeys(db: DbOrTx, name: string, keys: string[]): Promise<void> {
  await db.updateTable("users").set({ ssh_keys: JSON.stringify(keys) }).where("name", "=", name).execute();
}

export interface IssuedToken extends Token {
  secret: string;
}

export async function issueToken(
  db: DbOrTx,
  userName: string,
  tokenName: string,
  now: string,
  expiresAt: string | null = null,
): Promise<IssuedToken> {
  const secret = `vgt_${randomBytes(32).toString("base64url")}`;
  const id = randomUUID();
  await db
    .insertInto("tokens")
    .values({ id, user_name: userName, name: tokenName, hash: await hashSecret(db, secret), created_at: now, expires_at: expiresAt })
    .execute();
  return { id, name: tokenName, secret, createdAt: now, expiresAt };
}

/** The user a bearer secret belongs to, unless it is unknown or expired. */
export async function userForToken(db: DbOrTx, secret: string, now: string): Promise<User | undefined> {
  const row = await db
    .selectFrom("tokens")
    .innerJoin("users", "users.name", "tokens.user_name")
    .select([...USER_COLUMNS, "tokens.expires_at"])
    .where("tokens.hash", "=", await hashSecret(db, secret))
    .executeTakeFirst();
  if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
  return toUser(row);
}

/** A page of the user's tokens, oldest first: `page.limit + 1` of them after `page.after` (created_at, id). */
export async function listTokens(db: DbOrTx, userName: string, page: Page): Promise<Token[]> {
  let q = db.selectFrom("tokens").select(["id", "name", "created_at", "expires_at"]).where("user_name", "=", userName);
  if (page.after !== undefined) {
    const [createdAt, id] = page.after as [string, string];
    q = q.where((eb) => eb.or([eb("created_at", ">", createdAt), eb.and([eb("created_at", "=", createdAt), eb("id", ">", id)])]));
  }
  const rows = await q.orderBy("created_at").orderBy("id").limit(page.limit + 1).execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, expiresAt: r.expires_at }));
}

/** The key a page of tokens is ordered by, for its cursor. */
export const tokenPageKey = (t: Token): string[] => [t.createdAt, t.id];

/** How many of the user's tokens still work at `now`: what the cap on tokens counts. */
export async function countLiveTokens(db: DbOrTx, userName: string, now: string): Promise<number> {
  const { n } = await db
    .selectFrom("tokens")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_name", "=", userName)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** How many tokens `userName` has (expired ones included): whether one was ever given. */
export async function countTokens(db: DbOrTx, userName: string): Promise<number> {
  const { n } = await db
    .selectFrom("tokens")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_name", "=", userName)
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** How many tokens there are at all: none means nobody can use the API yet. */
export async function countAllTokens(db: DbOrTx): Promise<number> {
  const { n } = await db.selectFrom("tokens").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(n);
}

export async function revokeToken(db: DbOrTx, userName: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom("tokens").where("id", "=", id).where("user_name", "=", userName).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * The user a login mode vouches for: made on their first login with that mode as their origin (an
 * existing user keeps theirs); `groups`, when the mode says them, replace the remembered ones.
 */
export async function ensureLoginUser(db: DbOrTx, name: string, origin: string, now: string, groups?: string[]): Promise<User> {
  let user = await findUser(db, name);
  if (!user) {
    await db
      .insertInto("users")
      .values({ name, admin: 0, config_admin: 0, ssh_keys: "[]", max_vms: null, created_at: now, origin, groups: JSON.stringify(groups ?? []) })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    user = await findUser(db, name);
    if (!user) throw new Error(`user ${name} vanished right after it was written`);
  } else if (groups !== undefined && JSON.stringify(groups) !== JSON.stringify(user.groups)) {
    await db.updateTable("users").set({ groups: JSON.stringify(groups) }).where("name", "=", name).execute();
    user = { ...user, groups };
  }
  return user;
}

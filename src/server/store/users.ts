// Users and their API tokens. Tokens are random secrets shown once and stored as sha256 hashes.

import { randomBytes, randomUUID } from "node:crypto";
import { hashSecret } from "./catalog.js";
import type { Db } from "./db.js";
import type { UserRow } from "./schema.js";

export interface User {
  name: string;
  admin: boolean;
  sshKeys: string[];
  maxVms: number | null;
}

export function toUser(row: UserRow): User {
  return { name: row.name, admin: row.admin === 1, sshKeys: JSON.parse(row.ssh_keys) as string[], maxVms: row.max_vms };
}

export async function findUser(db: Db, name: string): Promise<User | undefined> {
  const row = await db.selectFrom("users").selectAll().where("name", "=", name).executeTakeFirst();
  return row && toUser(row);
}

/** Creates the user if needed; `admin` true also promotes an existing user (never demotes). */
export async function ensureUser(db: Db, name: string, admin: boolean, now: string): Promise<User> {
  await db
    .insertInto("users")
    .values({ name, admin: admin ? 1 : 0, ssh_keys: "[]", max_vms: null, created_at: now })
    .onConflict((oc) => (admin ? oc.column("name").doUpdateSet({ admin: 1 }) : oc.column("name").doNothing()))
    .execute();
  const user = await findUser(db, name);
  if (!user) throw new Error(`user ${name} vanished right after it was written`);
  return user;
}

export async function saveSshKeys(db: Db, name: string, keys: string[]): Promise<void> {
  await db.updateTable("users").set({ ssh_keys: JSON.stringify(keys) }).where("name", "=", name).execute();
}

export interface IssuedToken {
  id: string;
  name: string;
  secret: string;
  createdAt: string;
  expiresAt: string | null;
}

export async function issueToken(
  db: Db,
  userName: string,
  tokenName: string,
  now: string,
  expiresAt: string | null = null,
): Promise<IssuedToken> {
  const secret = `vgt_${randomBytes(32).toString("base64url")}`;
  const id = randomUUID();
  await db
    .insertInto("tokens")
    .values({ id, user_name: userName, name: tokenName, hash: hashSecret(secret), created_at: now, expires_at: expiresAt })
    .execute();
  return { id, name: tokenName, secret, createdAt: now, expiresAt };
}

/** The user a bearer secret belongs to, unless it is unknown or expired. */
export async function userForToken(db: Db, secret: string, now: string): Promise<User | undefined> {
  const row = await db
    .selectFrom("tokens")
    .innerJoin("users", "users.name", "tokens.user_name")
    .selectAll("users")
    .select("tokens.expires_at")
    .where("tokens.hash", "=", hashSecret(secret))
    .executeTakeFirst();
  if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
  return toUser(row);
}

export async function listTokens(db: Db, userName: string) {
  return db
    .selectFrom("tokens")
    .select(["id", "name", "created_at", "expires_at"])
    .where("user_name", "=", userName)
    .orderBy("created_at")
    .execute();
}

export async function revokeToken(db: Db, userName: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom("tokens").where("id", "=", id).where("user_name", "=", userName).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

// Browser sessions and one-time login links. The browser holds a random secret; the store holds its
// hash, so that a copy of the store opens no session.

import { randomBytes } from "node:crypto";
import type { DbOrTx } from "./db.js";
import { hashSecret } from "./secrets.js";
import { USER_COLUMNS, toUser, type User } from "./users.js";

export interface Session {
  user: User;
  via: string;
  /** The cookie's secret: only its hash is stored. */
  hash: string;
}

export interface NewSession {
  user: string;
  via: string;
  /** An admin for this session (single sign-on adminGroups). */
  admin: boolean;
  address: string | null;
  now: Date;
  absoluteHours: number;
}

/** Opens a session and returns its secret, for the cookie. */
export async function openSession(db: DbOrTx, s: NewSession): Promise<string> {
  const secret = randomBytes(32).toString("base64url");
  const at = s.now.toISOString();
  await db
    .insertInto("sessions")
    .values({
      hash: await hashSecret(db, secret),
      user_name: s.user,
      via: s.via,
      admin: s.admin ? 1 : 0,
      address: s.address,
      created_at: at,
      last_seen_at: at,
      expires_at: new Date(s.now.getTime() + s.absoluteHours * 3_600_000).toISOString(),
    })
    .execute();
  return secret;
}

/** How often a session's last use is written: its idle expiry need not be finer than this. */
const TOUCH_EVERY_MS = 60_000;

/**
 * The session of a cookie's secret, unless it is unknown, past its absolute end or idle longer than
 * `idleMinutes` (then it is ended). Its last use is written at most once a minute.
 */
export async function sessionFor(db: DbOrTx, secret: string, now: Date, idleMinutes: number): Promise<Session | undefined> {
  const hash = await hashSecret(db, secret);
  const row = await db
    .selectFrom("sessions")
    .innerJoin("users", "users.name", "sessions.user_name")
    .select(USER_COLUMNS)
    .select(["sessions.via", "sessions.admin as session_admin", "sessions.last_seen_at", "sessions.expires_at"])
    .where("sessions.hash", "=", hash)
    .executeTakeFirst();
  if (!row) return undefined;
  const at = now.toISOString();
  const idleSince = new Date(now.getTime() - idleMinutes * 60_000).toISOString();
  if (row.expires_at <= at || row.last_seen_at <= idleSince) {
    await db.deleteFrom("sessions").where("hash", "=", hash).execute();
    return undefined;
  }
  if (now.getTime() - Date.parse(row.last_seen_at) >= TOUCH_EVERY_MS) {
    await db.updateTable("sessions").set({ last_seen_at: at }).where("hash", "=", hash).execute();
  }
  const user = toUser(row);
  return { user: { ...user, admin: user.admin || row.session_admin === 1 }, via: row.via, hash };
}

/** Ends one session (logout); false if it was not there. */
export async function endSession(db: DbOrTx, hash: string): Promise<boolean> {
  const result = await db.deleteFrom("sessions").where("hash", "=", hash).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Ends a user's sessions, those opened by `via` only when given; how many ended. */
export async function endUserSessions(db: DbOrTx, user: string, via?: string): Promise<number> {
  let q = db.deleteFrom("sessions").where("user_name", "=", user);
  if (via !== undefined) q = q.where("via", "=", via);
  const result = await q.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Removes the sessions past their absolute end or idle too long, and the login links past theirs. */
export async function dropExpiredLogins(db: DbOrTx, now: Date, idleMinutes: number): Promise<number> {
  const at = now.toISOString();
  const idleSince = new Date(now.getTime() - idleMinutes * 60_000).toISOString();
  const sessions = await db
    .deleteFrom("sessions")
    .where((eb) => eb.or([eb("expires_at", "<=", at), eb("last_seen_at", "<=", idleSince)]))
    .executeTakeFirst();
  const links = await db.deleteFrom("login_links").where("expires_at", "<=", at).executeTakeFirst();
  return Number(sessions.numDeletedRows) + Number(links.numDeletedRows);
}

/** How long a login link is good for. */
export const LOGIN_LINK_MINUTES = 15;

/** Makes a one-time login link's secret for `user`. */
export async function createLoginLink(db: DbOrTx, user: string, admin: boolean, now: Date): Promise<string> {
  const secret = `vgl_${randomBytes(32).toString("base64url")}`;
  await db
    .insertInto("login_links")
    .values({
      hash: await hashSecret(db, secret),
      user_name: user,
      admin: admin ? 1 : 0,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + LOGIN_LINK_MINUTES * 60_000).toISOString(),
      used_at: null,
    })
    .execute();
  return secret;
}

export type LinkUse = { user: string } | { refused: "unknown" | "used" | "expired" };

/** Uses a login link: once only (the update is the check, so two racing uses cannot both win). */
export async function useLoginLink(db: DbOrTx, secret: string, now: Date): Promise<LinkUse> {
  const hash = await hashSecret(db, secret);
  const at = now.toISOString();
  const used = await db
    .updateTable("login_links")
    .set({ used_at: at })
    .where("hash", "=", hash)
    .where("used_at", "is", null)
    .where("expires_at", ">", at)
    .returning("user_name")
    .executeTakeFirst();
  if (used) return { user: used.user_name };
  const row = await db.selectFrom("login_links").select(["used_at"]).where("hash", "=", hash).executeTakeFirst();
  if (!row) return { refused: "unknown" };
  return { refused: row.used_at !== null ? "used" : "expired" };
}

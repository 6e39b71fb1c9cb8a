// Who is calling, from every credential a request may carry, in the order API.md gives: a bearer
// token, then the session cookie, then HTTP Basic (htpasswd), then the client certificate, then the
// trusted proxy's header. A wrong token, cookie, password or certificate is a 401, never a
// fall-through to the next; a proxy header from a
// peer that is not a trusted proxy is ignored (and logged). Every mode maps to one user by name, and
// the directory ([auth.allow], or the password file when it is the only login) is asked every time,
// so that a user taken out of it is out at once.

import type { FastifyReply, FastifyRequest } from "fastify";
import { Forbidden, Unauthorized } from "../../core/errors.js";
import { normalizeUsername } from "../../core/names.js";
import type { AuthConfig, ServerConfig } from "../config.js";
import type { ServerContext } from "../context.js";
import { insertAudit } from "../store/audit.js";
import { endSession, endUserSessions, sessionFor } from "../store/sessions.js";
import { ensureLoginUser, userForToken, type User } from "../store/users.js";
import { addressList, type AddressList } from "./addresses.js";
import { certificateLogin, presentedCertificate } from "./client-cert.js";
import { openPasswordFile, type PasswordFile } from "./htpasswd.js";
import { loginLimits, type LoginLimits } from "./login-limits.js";

/** How a caller proved who they are. */
export type Via = "token" | "session" | "basic" | "cert" | "proxy";

export interface Caller {
  user: User;
  via: Via;
  /** The hash of the session's secret, when the caller came with a session cookie. */
  session?: string;
}

export interface Authenticator {
  /** The caller of `request`; null when it carries no credential at all. */
  identify(request: FastifyRequest): Promise<Caller | null>;
  /** The password file, when htpasswd is on. */
  passwords: PasswordFile | undefined;
  /** The session cookie's name: `__Host-` and Secure under HTTPS. */
  cookie: SessionCookie;
  /** Failed password logins per account and per address. */
  limits: LoginLimits;
  /** Whether `user` may use the portal now (the directory); the reason when not. */
  refusal(user: User, via: string): Promise<string | undefined>;
}

export interface SessionCookie {
  name: string;
  secure: boolean;
}

export function sessionCookie(config: ServerConfig): SessionCookie {
  // HTTPS is where browsers reach the portal: at an https publicUrl, or at vgrid's own [tls].
  const secure = (config.publicUrl?.startsWith("https://") ?? false) || config.tls !== undefined;
  return { name: secure ? "__Host-vgrid_session" : "vgrid_session", secure };
}

/** Sets the session cookie on `reply`. */
export function setSessionCookie(reply: FastifyReply, cookie: SessionCookie, secret: string): void {
  reply.setCookie(cookie.name, secret, { path: "/", httpOnly: true, sameSite: "lax", secure: cookie.secure });
}

export function clearSessionCookie(reply: FastifyReply, cookie: SessionCookie): void {
  reply.clearCookie(cookie.name, { path: "/", httpOnly: true, sameSite: "lax", secure: cookie.secure });
}

/** The interactive login modes that are on: where the password file is the only one, it is the directory. */
function interactiveModes(auth: AuthConfig): string[] {
  return [auth.htpasswd && "htpasswd", auth.cert && "cert", auth.proxy && "proxy", auth.oidc && "oidc"].filter((m): m is string => typeof m === "string");
}

export async function openAuthenticator(ctx: ServerContext, configFile: string): Promise<Authenticator> {
  const { auth } = ctx.config;
  const passwords = auth.htpasswd ? await openPasswordFile(auth.htpasswd.file, configFile) : undefined;
  const proxies: AddressList | undefined = auth.proxy ? addressList(auth.proxy.trustedProxies) : undefined;
  const passwordIsDirectory = interactiveModes(auth).join() === "htpasswd";
  const allowUsers = new Set(auth.allow?.users ?? []);
  const allowGroups = new Set(auth.allow?.groups ?? []);
  const cookie = sessionCookie(ctx.config);
  const { loginFailuresPerUserPerMinute, loginFailuresPerAddressPerMinute } = ctx.config.rateLimit;
  const limits = loginLimits(loginFailuresPerUserPerMinute, loginFailuresPerAddressPerMinute, () => ctx.now().getTime());

  const refusal = async (user: User, via: string): Promise<string | undefined> => {
    if (auth.allow && !allowUsers.has(user.name) && !user.groups.some((g) => allowGroups.has(g))) {
      return `${user.name} is not among the users (or groups) of [auth.allow] in server.toml: ask an administrator`;
    }
    // A password opened it, or the password file is the directory of a user who came through it.
    if (passwords && (via === "htpasswd" || via === "basic" || (passwordIsDirectory && user.origin === "htpasswd"))) {
      if (!(await passwords.has(user.name))) return `${user.name} is no longer in the password file: ask an administrator`;
    }
    return undefined;
  };

  const admitted = async (request: FastifyRequest, caller: Caller, via: string): Promise<Caller> => {
    const reason = await refusal(caller.user, via);
    if (reason === undefined) return caller;
    // Out at once: whatever the user had open ends now.
    const ended = await endUserSessions(ctx.db, caller.user.name);
    if (ended > 0) request.log.info({ user: caller.user.name, sessions: ended }, "sessions ended: the user is out of the directory");
    throw new Forbidden(reason);
  };

  const failedLogin = async (request: FastifyRequest, who: string, why: string): Promise<void> => {
    await insertAudit(ctx.db, { at: ctx.now(), actor: who, action: "auth.login-failed", target: null, address: request.ip, detail: why });
  };

  return {
    passwords,
    limits,
    cookie,
    refusal,
    async identify(request) {
      const now = ctx.now();
      const token = bearerToken(request);
      if (token !== undefined) {
        const user = await userForToken(ctx.db, token, now.toISOString());
        if (!user) throw new Unauthorized("the bearer token is unknown, revoked or expired; create a new one");
        return admitted(request, { user, via: "token" }, "token");
      }
      // An Authorization header that is neither a bearer token nor HTTP Basic is a mistake to point
      // out, not a reason to look for another credential (a session cookie) and act as someone else.
      if (request.headers.authorization !== undefined && basicCredentials(request) === undefined) {
        throw new Unauthorized("the Authorization header is neither 'Bearer TOKEN' nor HTTP Basic: send 'Authorization: Bearer TOKEN'");
      }
      const secret = request.cookies[cookie.name];
      if (secret !== undefined && secret !== "") {
        const session = await sessionFor(ctx.db, secret, now, ctx.config.sessions.idleMinutes);
        if (!session) throw new Unauthorized("your session has ended (logged out, expired or idle too long): log in again");
        try {
          return await admitted(request, { user: session.user, via: "session", session: session.hash }, session.via);
        } catch (err) {
          await endSession(ctx.db, session.hash);
          throw err;
        }
      }
      const basic = basicCredentials(request);
      if (basic !== undefined && passwords) {
        let name: string;
        try {
          name = normalizeUsername(basic.user);
        } catch {
          await failedLogin(request, "(invalid username)", "basic: a username that is not allowed");
          throw new Unauthorized("wrong username or password");
        }
        limits.check(name, request.ip);
        if (!(await passwords.verify(name, basic.password))) {
          limits.fail(name, request.ip);
          await failedLogin(request, name, "basic: wrong username or password");
          throw new Unauthorized("wrong username or password");
        }
        const user = await ensureLoginUser(ctx.db, name, "htpasswd", now.toISOString());
        return admitted(request, { user, via: "basic" }, "basic");
      }
      if (auth.cert) {
        // Presented but refused (unknown CA, expired, a subject `require` does not allow) is a 401
        // that says why: never a fall-through to the proxy header.
        const login = certificateLogin(presentedCertificate(request.raw.socket), auth.cert);
        if (login.kind === "refused") {
          await failedLogin(request, login.who, `cert: ${login.why}`);
          throw new Unauthorized(login.why);
        }
        if (login.kind === "user") {
          const user = await ensureLoginUser(ctx.db, login.name, "cert", now.toISOString());
          return admitted(request, { user, via: "cert" }, "cert");
        }
      }
      if (auth.proxy && proxies) {
        const raw = request.headers[auth.proxy.header.toLowerCase()];
        if (raw !== undefined) {
          if (!proxies.has(request.socket.remoteAddress ?? "")) {
            request.log.warn({ peer: request.socket.remoteAddress, header: auth.proxy.header }, "a login header from a peer that is not a trusted proxy: ignored");
            return null;
          }
          const value = Array.isArray(raw) ? raw[0] : raw;
          if (value === undefined || value === "") return null;
          let name: string;
          try {
            name = normalizeUsername(value);
          } catch {
            await failedLogin(request, "(invalid username)", `proxy: the header ${auth.proxy.header} holds a username that is not allowed`);
            throw new Unauthorized(`the login header ${auth.proxy.header} holds a username vgrid does not allow`);
          }
          const user = await ensureLoginUser(ctx.db, name, "proxy", now.toISOString());
          return admitted(request, { user, via: "proxy" }, "proxy");
        }
      }
      return null;
    },
  };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** HTTP Basic's user and password, when the request sends them. */
export function basicCredentials(request: FastifyRequest): { user: string; password: string } | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

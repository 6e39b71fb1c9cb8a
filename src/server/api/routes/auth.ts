// Logging in and out: the API's POST /auth/login and /auth/logout (htpasswd), and the pages a browser
// sees: the login page at /login (the password form, the single sign-on's link), one-time login links
// at /auth/link/TOKEN, and logout. The portal itself is routes/portal.ts.

import formbody from "@fastify/formbody";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { Unauthorized } from "../../../core/errors.js";
import { normalizeUsername } from "../../../core/names.js";
import type { Authenticator } from "../../auth/authenticator.js";
import { clearSessionCookie, setSessionCookie } from "../../auth/authenticator.js";
import { PAGE_STYLE, escapeHtml, page, safeNext } from "../../auth/html.js";
import { RateLimited } from "../../auth/login-limits.js";
import type { ServerContext } from "../../context.js";
import { insertAudit } from "../../store/audit.js";
import { hashSecret } from "../../store/secrets.js";
import { endSession, openSession, useLoginLink } from "../../store/sessions.js";
import { ensureLoginUser, findUser, type User } from "../../store/users.js";
import { responses } from "../schemas.js";

const LoginBody = Type.Object({ username: Type.String({ maxLength: 256 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const LoginAnswer = Type.Object({ username: Type.String(), admin: Type.Boolean() });

/** What logging in does, for the API and the form alike. */
export function logins(ctx: ServerContext, auth: Authenticator) {
  const audit = (request: FastifyRequest, actor: string, action: string, detail: string | null) =>
    insertAudit(ctx.db, { at: ctx.now(), actor, action, target: null, address: request.ip, detail });

  /** Opens a session for `user` (a new id at every login) and sets its cookie. */
  const startSession = async (request: FastifyRequest, reply: FastifyReply, user: User, via: string, admin = false) => {
    // A login ends the session the browser came with: a session id is never carried across a login.
    const old = request.cookies[auth.cookie.name];
    if (old !== undefined) await endSessionOf(old);
    const secret = await openSession(ctx.db, { user: user.name, via, admin, address: request.ip, now: ctx.now(), absoluteHours: ctx.config.sessions.absoluteHours });
    setSessionCookie(reply, auth.cookie, secret);
    await audit(request, user.name, "auth.login", via);
  };
  const endSessionOf = async (secret: string) => {
    await endSession(ctx.db, await hashSecret(ctx.db, secret));
  };

  /** The user of a right username and password, or why not (audited, never with the password). */
  const passwordLogin = async (request: FastifyRequest, rawName: string, password: string): Promise<User | string> => {
    if (!auth.passwords) return "this server takes no passwords: log in as your lab's login page says";
    let name: string;
    try {
      name = normalizeUsername(rawName);
    } catch {
      await audit(request, "(invalid username)", "auth.login-failed", "password: a username that is not allowed");
      return "wrong username or password";
    }
    auth.limits.check(name, request.ip);
    if (!(await auth.passwords.verify(name, password))) {
      auth.limits.fail(name, request.ip);
      await audit(request, name, "auth.login-failed", "password: wrong username or password");
      return "wrong username or password";
    }
    const user = await ensureLoginUser(ctx.db, name, "htpasswd", ctx.now().toISOString());
    const refused = await auth.refusal(user, "htpasswd");
    if (refused !== undefined) {
      await audit(request, name, "auth.login-failed", "password: not in the directory");
      return refused;
    }
    return user;
  };

  return { startSession, passwordLogin, endSessionOf, audit };
}

export function authApiRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncTypebox {
  const l = logins(ctx, auth);
  return async (app) => {
    app.post(
      "/auth/login",
      {
        config: { public: true },
        schema: { tags: ["auth"], summary: "Log in with a username and password (htpasswd): a session cookie", body: LoginBody, response: responses({ 200: LoginAnswer }) },
      },
      async (request, reply) => {
        const result = await l.passwordLogin(request, request.body.username, request.body.password);
        if (typeof result === "string") throw new Unauthorized(result);
        await l.startSession(request, reply, result, "htpasswd");
        return { username: result.name, admin: result.admin };
      },
    );

    app.post(
      "/auth/logout",
      { config: { public: true }, schema: { tags: ["auth"], summary: "End this browser's session, on the server too", response: responses({ 204: Type.Null() }) } },
      async (request, reply) => {
        await logout(auth, l, request, reply);
        return reply.code(204).send(null);
      },
    );
  };
}

async function logout(auth: Authenticator, l: ReturnType<typeof logins>, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const secret = request.cookies[auth.cookie.name];
  if (secret !== undefined && secret !== "") {
    const caller = await auth.identify(request).catch(() => null);
    await l.endSessionOf(secret);
    if (caller) await l.audit(request, caller.user.name, "auth.logout", null);
  }
  clearSessionCookie(reply, auth.cookie);
}

/** Answers a server-rendered page, never cached (it may say who is logged in). */
export function htmlPage(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).header("content-type", "text/html; charset=utf-8").header("cache-control", "no-store").send(body);
}

/** Which ways of logging in the page offers. */
interface LoginChoices {
  passwords: boolean;
  sso: boolean;
}

function loginForm(next: string, choices: LoginChoices, error?: string, username = ""): string {
  const alert = error === undefined ? "" : `<p class="error" role="alert">${escapeHtml(error)}</p>`;
  const sso = choices.sso
    ? `<p><a href="/auth/oidc/login${next === "/" ? "" : `?next=${escapeHtml(encodeURIComponent(next))}`}" class="button">Log in with single sign-on</a></p>`
    : "";
  const form = choices.passwords
    ? `${choices.sso ? "<p>Or with your username and password:</p>" : ""}<form method="post" action="/login"><input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" value="${escapeHtml(username.slice(0, 256))}" required${choices.sso || username !== "" ? "" : " autofocus"}>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required${username === "" ? "" : " autofocus"}>
<button type="submit">Log in</button></form>`
    : "";
  return page("Log in", `<h1>Log in to vgrid</h1>${alert}${sso || form ? `${sso}${form}` : NO_PASSWORDS}`);
}

/**
 * After logging out. Someone the lab's proxy or certificate still names is still known to vgrid:
 * the page says so, since only closing the browser (or the lab's own logout) ends that.
 */
function loggedOut(stillKnownAs: string | undefined): string {
  const still =
    stillKnownAs === undefined
      ? `<p><a href="/login">Log in again</a></p>`
      : `<p>Your lab's login (its proxy or your certificate) still says you are <strong>${escapeHtml(stillKnownAs)}</strong>: close the browser, or log out of the lab's login, to end that.</p><p><a href="/">Back to vgrid</a></p>`;
  return page("Logged out", `<h1>You are logged out</h1><p>Your vgrid session has ended.</p>${still}`);
}

const NO_PASSWORDS = `<p>This server takes no passwords. Log in through your lab's login, or ask an administrator for a login link (<code>vgrid login-link --user NAME</code> on the server).</p>`;

const LINK_REFUSED: Record<string, string> = {
  unknown: "This login link is not one this server made. Ask for a new one.",
  used: "This login link was used already: each works once. Ask for a new one.",
  expired: "This login link has expired (they are good for 15 minutes). Ask for a new one.",
};

export function loginPages(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncTypebox {
  const l = logins(ctx, auth);
  const choices: LoginChoices = { passwords: auth.passwords !== undefined, sso: ctx.config.auth.oidc !== undefined };
  return async (app) => {
    // The forms post urlencoded; only these pages take that (the API takes JSON only).
    await app.register(formbody, { bodyLimit: 16 * 1024 });
    // Browsers ask for it on every page: no icon yet, and no 404 in their console.
    app.get("/favicon.ico", { schema: { hide: true } }, async (_request, reply) => reply.code(204).header("cache-control", "public, max-age=86400").send());
    app.get("/auth/style.css", { schema: { hide: true } }, async (_request, reply) =>
      reply.header("content-type", "text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(PAGE_STYLE),
    );

    app.get(
      "/login",
      { schema: { hide: true, querystring: Type.Object({ next: Type.Optional(Type.String()), out: Type.Optional(Type.String()) }) } },
      async (request, reply) => {
        const next = safeNext(request.query.next);
        const caller = await auth.identify(request).catch(() => null);
        if (request.query.out !== undefined) return htmlPage(reply, 200, loggedOut(caller?.user.name));
        // Someone the server knows already (a session, the proxy's header, a certificate) goes straight in.
        if (caller) return reply.code(303).header("location", next).send();
        return htmlPage(reply, 200, loginForm(next, choices));
      },
    );

    app.post(
      "/login",
      {
        schema: {
          hide: true,
          body: Type.Object({ username: Type.String({ maxLength: 256 }), password: Type.String({ maxLength: 1024 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const next = safeNext(request.body.next);
        let result: User | string;
        try {
          result = await l.passwordLogin(request, request.body.username, request.body.password);
        } catch (err) {
          if (!(err instanceof RateLimited)) throw err;
          reply.header("retry-after", String(err.retryAfterSeconds));
          return htmlPage(reply, 429, loginForm(next, choices, err.message, request.body.username));
        }
        if (typeof result === "string") return htmlPage(reply, 401, loginForm(next, choices, result, request.body.username));
        await l.startSession(request, reply, result, "htpasswd");
        return reply.code(303).header("location", next).send();
      },
    );

    app.get("/auth/link/:token", { schema: { hide: true, params: Type.Object({ token: Type.String({ maxLength: 200 }) }) } }, async (request, reply) => {
      const use = await useLoginLink(ctx.db, request.params.token, ctx.now());
      const back = `<p><a href="/login">Go to the login page</a></p>`;
      if ("refused" in use) {
        await l.audit(request, "(login link)", "auth.login-failed", `link: ${use.refused}`);
        return htmlPage(reply, use.refused === "unknown" ? 404 : 410, page("Login link", `<h1>Login link refused</h1><p class="error" role="alert">${LINK_REFUSED[use.refused]}</p>${back}`));
      }
      const user = await findUser(ctx.db, use.user);
      const refused = user && (await auth.refusal(user, "link"));
      if (!user || refused !== undefined) {
        await l.audit(request, use.user, "auth.login-failed", "link: not in the directory");
        return htmlPage(reply, 403, page("Login link", `<h1>Login link refused</h1><p class="error" role="alert">${escapeHtml(refused ?? "no such user")}</p>${back}`));
      }
      await l.startSession(request, reply, user, "link");
      return reply.code(303).header("location", "/").send();
    });

    app.post("/logout", { schema: { hide: true } }, async (request, reply) => {
      await logout(auth, l, request, reply);
      return reply.code(303).header("location", "/login").send();
    });
  };
}

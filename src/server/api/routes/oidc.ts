// The single sign-on's two pages: GET /auth/oidc/login sends the browser to the provider, with the
// login's state, nonce and PKCE verifier sealed in a short-lived cookie (never a row in the store:
// a request without a login writes nothing); GET /auth/oidc/callback checks the provider's answer
// against that cookie, asks the directory, opens a session and lands on `next`.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import { Type } from "typebox";
import type { Authenticator } from "../../auth/authenticator.js";
import { escapeHtml, page, safeNext } from "../../auth/html.js";
import { LOGIN_FLOW_MINUTES, openFlow, sealFlow } from "../../auth/login-flow.js";
import { CALLBACK_PATH, type SingleSignOn } from "../../auth/oidc.js";
import type { ServerContext } from "../../context.js";
import { serverKey } from "../../store/server-keys.js";
import { ensureLoginUser } from "../../store/users.js";
import { htmlPage, logins } from "./auth.js";

/** The cookie that carries a login under way: `__Host-` and Secure under HTTPS, like the session's. */
function flowCookie(auth: Authenticator) {
  return { name: auth.cookie.secure ? "__Host-vgrid_oidc" : "vgrid_oidc", options: { path: "/", httpOnly: true, sameSite: "lax" as const, secure: auth.cookie.secure } };
}

/** A redirect's documentation: no body. */
const REDIRECT = (description: string) => Type.Null({ description });

const FLOW_REFUSED = {
  missing: "No single sign-on login is under way in this browser: it finished already, took longer than 10 minutes, or was started in another browser.",
  forged: "This browser's single sign-on cookie is not one this server made.",
  expired: "This single sign-on login took longer than 10 minutes.",
} as const;

export function oidcPages(ctx: ServerContext, auth: Authenticator, sso: SingleSignOn, publicUrl: string): FastifyPluginAsyncTypebox {
  const l = logins(ctx, auth);
  const cookie = flowCookie(auth);
  // The seal's key: made once in the store and shared by the replicas, read once per process.
  let key: Promise<Buffer> | undefined;
  const flowKey = () => {
    key ??= serverKey(ctx.db, "oidc-flow").catch((err: unknown) => {
      key = undefined;
      throw err;
    });
    return key;
  };

  const refused = (reply: FastifyReply, status: number, why: string, next = "/") => {
    reply.clearCookie(cookie.name, cookie.options);
    const again = `/login${next === "/" ? "" : `?next=${encodeURIComponent(next)}`}`;
    return htmlPage(reply, status, page("Single sign-on", `<h1>Single sign-on refused</h1><p class="error" role="alert">${escapeHtml(why)}</p><p><a href="${escapeHtml(again)}">Go to the login page</a></p>`));
  };

  return async (app) => {
    app.get(
      "/auth/oidc/login",
      {
        schema: {
          tags: ["auth"],
          summary: "Log in with single sign-on: a redirect to the OpenID provider (an HTML page saying why when it cannot be reached)",
          querystring: Type.Object({ next: Type.Optional(Type.String()) }),
          response: { 303: REDIRECT("to the provider's authorization endpoint, with the login's sealed cookie") },
        },
      },
      async (request, reply) => {
        const next = safeNext(request.query.next);
        const begun = await sso.begin(next, ctx.now());
        if ("refused" in begun) {
          request.log.warn({ reason: begun.refused }, "single sign-on: the provider could not be reached");
          return refused(reply, begun.status, begun.refused, next);
        }
        reply.setCookie(cookie.name, sealFlow(await flowKey(), begun.flow), { ...cookie.options, maxAge: LOGIN_FLOW_MINUTES * 60 });
        return reply.code(303).header("location", begun.url).header("cache-control", "no-store").send(null);
      },
    );

    app.get(
      CALLBACK_PATH,
      {
        schema: {
          tags: ["auth"],
          summary: "Where the OpenID provider sends the browser back: opens a session and lands on the login's next path",
          querystring: Type.Record(Type.String(), Type.String({ maxLength: 4096 })),
          response: { 303: REDIRECT("to the login's next path, with a session cookie (a refusal is an HTML page saying why)") },
        },
      },
      async (request, reply) => {
        const sealed = request.cookies[cookie.name];
        // No cookie, no login attempt: nothing is written (anyone may open this URL any number of times).
        if (sealed === undefined || sealed === "") return refused(reply, 400, FLOW_REFUSED.missing);
        const opened = openFlow(await flowKey(), sealed, ctx.now());
        if ("refused" in opened) {
          await l.audit(request, "(single sign-on)", "auth.login-failed", `oidc: the login cookie is ${opened.refused}`);
          return refused(reply, 400, FLOW_REFUSED[opened.refused]);
        }
        const { flow } = opened;
        // openid-client reads the answer (code, state, iss or error) from the URL the provider sent.
        const who = await sso.finish(new URL(request.url, publicUrl), flow);
        if ("refused" in who) {
          await l.audit(request, "(single sign-on)", "auth.login-failed", `oidc: ${who.refused}`);
          return refused(reply, who.status, who.refused, flow.next);
        }
        const user = await ensureLoginUser(ctx.db, who.username, "oidc", ctx.now().toISOString(), who.groups);
        const out = await auth.refusal(user, "oidc");
        if (out !== undefined) {
          await l.audit(request, user.name, "auth.login-failed", "oidc: not in the directory");
          return refused(reply, 403, out, flow.next);
        }
        reply.clearCookie(cookie.name, cookie.options);
        await l.startSession(request, reply, user, "oidc", who.admin);
        return reply.code(303).header("location", flow.next).header("cache-control", "no-store").send(null);
      },
    );
  };
}

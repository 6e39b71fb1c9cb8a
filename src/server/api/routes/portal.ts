// The web portal (API.md: The web portal): its built assets under /assets/ (hashed names, cached for a
// year), and its index page for every path that is a page of the app. A page asked for by someone the
// server does not know goes to the login first, and comes back after it; the admin pages answer 403 to
// others (the app says so in words). The app itself talks to the public API only.

import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../../core/repo.js";
import { PAGES, isAdminPage } from "../../../portal/pages.js";
import type { Authenticator } from "../../auth/authenticator.js";
import { page, safeNext } from "../../auth/html.js";
import { htmlPage } from "./auth.js";


export function portalDirectory(): string {
  return join(repoRoot(), "web", "dist");
}

const NOT_BUILT = page(
  "Portal not built",
  "<h1>The portal is not built</h1><p>This vgrid has no web assets: run <code>make build</code> in its checkout, then reload. The API works meanwhile, at <a href=\"/api/docs\">/api/docs</a>.</p>",
);

export function portalPages(auth: Authenticator, directory = portalDirectory()): FastifyPluginAsyncTypebox {
  return async (app) => {
    const indexFile = join(directory, "index.html");
    // Registered whether or not the portal is built yet: a `make build` while the server runs is served.
    {
      await app.register(fastifyStatic, {
        root: join(directory, "assets"),
        prefix: "/assets/",
        decorateReply: false,
        index: false,
        // make build writes a .gz beside each asset: sent to browsers that take gzip, never compressed per request.
        preCompressed: true,
        // The names carry their content's hash: a new build makes new names, so the old never go stale.
        immutable: true,
        maxAge: "365d",
      });
    }

    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      const caller = await auth.identify(request).catch(() => null);
      if (!caller) {
        const here = safeNext(request.url);
        return reply.code(303).header("location", here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`).send();
      }
      // Read at each visit (a small file): a `make build` while the server runs gives the new assets' names.
      const index = await readFile(indexFile, "utf8").catch(() => undefined);
      if (index === undefined) return htmlPage(reply, 503, NOT_BUILT);
      const forbidden = isAdminPage(request.url) && !caller.user.admin;
      return reply.code(forbidden ? 403 : 200).header("content-type", "text/html; charset=utf-8").header("cache-control", "no-cache").send(index);
    };
    for (const path of Object.values(PAGES)) app.get(path, { schema: { hide: true } }, serve);
  };
}

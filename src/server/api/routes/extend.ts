// The one-click extend link of expiry mails (API.md): GET /extend/TOKEN is a server-rendered page (no
// script, every value escaped) that only shows what the button would do, so that a mail scanner that
// opens the link changes nothing; its one button POSTs (a plain form, no JavaScript needed), which the
// portal's origin rule guards like every change (app.ts's onRequest hook). No login: the link is the
// credential, for one VM and one expiry, once.

import formbody from "@fastify/formbody";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Vm } from "../../../core/api.js";
import { escapeHtml, page } from "../../auth/html.js";
import type { ServerContext } from "../../context.js";
import { durationWords, utc } from "../../policies/mails.js";
import { extendByLink, previewLink, type LinkRefusal } from "../../vms/service.js";
import { htmlPage } from "./auth.js";

const Params = Type.Object({ token: Type.String({ maxLength: 200 }) });

/** Each refusal's status and words; a page says what went wrong and what to do instead. */
const REFUSALS: Record<LinkRefusal["refused"], { status: number; text: string }> = {
  unknown: { status: 404, text: "This extend link is not one this server made. Check that the whole link was copied from the mail." },
  used: { status: 410, text: "This extend link was used already: each works once." },
  stale: { status: 410, text: "This extend link no longer applies: the VM's expiry has changed since the mail was sent (it was extended, or it is terminated)." },
  "at-most": { status: 409, text: "This VM already expires as late as the policy allows; the link can be used later, once there is room again." },
};

function vmLink(vm: Vm): string {
  return `<p><a href="/vms/${escapeHtml(encodeURIComponent(vm.id))}">See VM ${escapeHtml(vm.name)} in the portal</a></p>`;
}

function refusedPage(refusal: LinkRefusal): { status: number; body: string } {
  const { status, text } = REFUSALS[refusal.refused];
  const where = refusal.vm ? `${refusal.vm.expiresAt ? `<p>VM ${escapeHtml(refusal.vm.name)} is ${escapeHtml(refusal.vm.state)} and expires at ${escapeHtml(utc(refusal.vm.expiresAt))}.</p>` : ""}${vmLink(refusal.vm)}` : `<p><a href="/">Go to the portal</a></p>`;
  return { status, body: page("Extend link", `<h1>Extend link refused</h1><p class="error" role="alert">${escapeHtml(text)}</p>${where}`) };
}

export function extendPages(ctx: ServerContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The button's form posts urlencoded (empty); only these pages and the login forms take that.
    await app.register(formbody, { bodyLimit: 1024 });

    app.get("/extend/:token", { schema: { hide: true, params: Params } }, async (request, reply) => {
      const preview = await previewLink(ctx, request.params.token);
      if ("refused" in preview) {
        const p = refusedPage(preview);
        return htmlPage(reply, p.status, p.body);
      }
      const { vm, hours } = preview;
      const name = escapeHtml(vm.name);
      const expired = vm.state === "expired" ? "<p>It has expired and is stopped, its disk kept: extending it starts it again.</p>" : "";
      const body = `<h1>Extend VM ${name}</h1>
<p>VM ${name} (image ${escapeHtml(vm.image)}, owned by ${escapeHtml(vm.owner)}) expires at ${escapeHtml(utc(vm.expiresAt!))}.</p>${expired}
<p>The button adds ${escapeHtml(durationWords(hours * 3600))} (within what the policy allows from now). The link works once.</p>
<form method="post" action="/extend/${escapeHtml(encodeURIComponent(request.params.token))}"><button type="submit">Extend ${name} by ${escapeHtml(durationWords(hours * 3600))}</button></form>`;
      return htmlPage(reply, 200, page(`Extend ${vm.name}`, body));
    });

    app.post("/extend/:token", { schema: { hide: true, params: Params } }, async (request, reply) => {
      const done = await extendByLink(ctx, request.params.token, request.ip);
      if ("refused" in done) {
        const p = refusedPage(done);
        return htmlPage(reply, p.status, p.body);
      }
      const { vm } = done;
      const started = vm.state === "provisioning" ? " It is starting again." : "";
      const body = `<h1>VM ${escapeHtml(vm.name)} extended</h1><p role="status">It now expires at ${escapeHtml(utc(vm.expiresAt!))}.${started}</p>${vmLink(vm)}`;
      return htmlPage(reply, 200, page(`${vm.name} extended`, body));
    });
  };
}

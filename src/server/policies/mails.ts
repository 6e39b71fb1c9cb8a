// The policy pass's mails, each from one description (compose.ts) as text and HTML: what happened to
// which VM, when (in UTC and from now), and what its owner can do about it: the one-click link and
// the CLI line. Pure: the pass queues what these return in the transaction of its decision.

import type { ServerConfig } from "../config.js";
import type { ServerContext } from "../context.js";
import { composeHtml, composeText, type MailBody } from "../mail/compose.js";
import type { MailKind, OutgoingMail } from "../store/outbox.js";

/** The portal's base URL for links in mails: publicUrl, else the address the server listens on. */
export function portalUrl(ctx: Pick<ServerContext, "config" | "listenUrl">): string {
  const { publicUrl, listen, tls } = ctx.config;
  if (publicUrl !== undefined) return publicUrl;
  if (ctx.listenUrl !== undefined) return ctx.listenUrl;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return `${tls ? "https" : "http"}://${host}:${listen.port}`;
}

/**
 * Where a user's mail goes: `[mail] userAddress` with their name. Without [mail] the mail still waits
 * in the outbox, addressed by the same default ([mail] userAddress's), for a sender configured later.
 */
export function ownerAddress(config: Pick<ServerConfig, "mail">, username: string): string {
  return (config.mail?.userAddress ?? "${username}@localhost").replaceAll("${username}", username);
}

/** A time as mails show it: `2026-12-03 12:00 UTC`. */
export function utc(at: Date | string): string {
  const iso = (typeof at === "string" ? new Date(at) : at).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A duration in words: `45 minutes`, `5 hours`, `3 days`, rounded to what a reader needs. */
export function durationWords(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds < 3600) return plural(Math.max(1, Math.round(seconds / 60)), "minute");
  if (seconds <= 72 * 3600) return plural(Math.round(seconds / 3600), "hour");
  return plural(Math.round(seconds / 86_400), "day");
}

/** "in 24 hours" or "24 hours ago". */
function fromNow(at: Date, now: Date): string {
  const s = (at.getTime() - now.getTime()) / 1000;
  return s >= 0 ? `in ${durationWords(s)}` : `${durationWords(-s)} ago`;
}

export interface VmFacts {
  id: string;
  name: string;
  owner: string;
  image: string;
}

function mail(kind: MailKind, key: string, vmId: string | null, to: string, subject: string, body: MailBody): OutgoingMail {
  return { key, kind, vmId, to, subject, text: composeText(body), html: composeHtml(body) };
}

function footer(ctx: Pick<ServerContext, "config" | "listenUrl">, vm: VmFacts): string {
  return `You get this mail because you own VM ${vm.name} on vgrid (${portalUrl(ctx)}/vms/${vm.id}).`;
}

export interface Extension {
  /** The one-time link's secret. */
  token: string;
  /** What pressing it adds. */
  hours: number;
}

function extendParts(ctx: Pick<ServerContext, "config" | "listenUrl">, vm: VmFacts, extension: Extension) {
  return {
    action: { label: `Extend ${vm.name} by ${durationWords(extension.hours * 3600)}`, url: `${portalUrl(ctx)}/extend/${extension.token}` },
    command: `vgrid extend ${vm.name} --hours ${extension.hours}`,
  };
}

/** What happens at expiry, in a sentence. */
function fate(graceHours: number): string {
  return graceHours > 0
    ? `Then it is stopped and kept for ${durationWords(graceHours * 3600)}, during which extending it starts it again; after that it is terminated and its disk deleted.`
    : "Then it is terminated and its disk deleted.";
}

export function warningMail(
  ctx: Pick<ServerContext, "config" | "listenUrl">,
  vm: VmFacts,
  w: { seconds: number; expiresAt: Date; now: Date; extension: Extension },
): OutgoingMail {
  const when = fromNow(w.expiresAt, w.now);
  const body: MailBody = {
    title: `Your VM ${vm.name} expires ${when}`,
    paragraphs: [
      `Your VM ${vm.name} (image ${vm.image}) expires at ${utc(w.expiresAt)}, ${when}.`,
      fate(ctx.config.expiry.graceHours),
      "To keep it longer, press the button below (it works once, without logging in), or type the command.",
    ],
    ...extendParts(ctx, vm, w.extension),
    footer: footer(ctx, vm),
  };
  const key = `expiry-warning:${vm.id}:${w.expiresAt.toISOString()}:${w.seconds}`;
  return mail("expiry-warning", key, vm.id, ownerAddress(ctx.config, vm.owner), body.title, body);
}

export function expiredMail(
  ctx: Pick<ServerContext, "config" | "listenUrl">,
  vm: VmFacts,
  e: { expiredAt: Date; graceEnd: Date; now: Date; extension: Extension },
): OutgoingMail {
  const body: MailBody = {
    title: `Your VM ${vm.name} has expired and is stopped`,
    paragraphs: [
      `Your VM ${vm.name} (image ${vm.image}) expired at ${utc(e.expiredAt)} and is stopped; its disk is kept.`,
      `It will be terminated and its disk deleted at ${utc(e.graceEnd)}, ${fromNow(e.graceEnd, e.now)}, unless you extend it: extending it starts it again.`,
    ],
    ...extendParts(ctx, vm, e.extension),
    footer: footer(ctx, vm),
  };
  return mail("expired", `expired:${vm.id}:${e.expiredAt.toISOString()}`, vm.id, ownerAddress(ctx.config, vm.owner), body.title, body);
}

export function terminatedMail(ctx: Pick<ServerContext, "config" | "listenUrl">, vm: VmFacts, reason: string): OutgoingMail {
  const body: MailBody = {
    title: `Your VM ${vm.name} is terminated`,
    paragraphs: [`Your VM ${vm.name} (image ${vm.image}) is being terminated by the expiry policy: it ${reason}.`, "Its disk is deleted; it cannot be brought back."],
    footer: footer(ctx, vm),
  };
  return mail("terminated", `terminated:${vm.id}`, vm.id, ownerAddress(ctx.config, vm.owner), body.title, body);
}

export function adminTerminatedMail(ctx: Pick<ServerContext, "config" | "listenUrl">, vm: VmFacts, admin: string, reason: string, now: Date): OutgoingMail {
  const body: MailBody = {
    title: `Your VM ${vm.name} was terminated by admin ${admin}`,
    paragraphs: [
      `Admin ${admin} terminated your VM ${vm.name} (image ${vm.image}) because: ${reason}`,
      `That was at ${utc(now)}. Its disk is deleted; it cannot be brought back.`,
    ],
    footer: footer(ctx, vm),
  };
  return mail("admin-terminated", `admin-terminated:${vm.id}`, vm.id, ownerAddress(ctx.config, vm.owner), body.title, body);
}

/** The not-responding mails: to the owner, and to each of [mail] admins when [liveness] notifyAdmins. */
export function notRespondingMails(ctx: Pick<ServerContext, "config" | "listenUrl">, vm: VmFacts & { host: string }, since: string, now: Date): OutgoingMail[] {
  const body: MailBody = {
    title: `Your VM ${vm.name} is not responding`,
    paragraphs: [
      `Your VM ${vm.name} (on ${vm.host}) has not answered since ${utc(since)}, ${fromNow(new Date(since), now)}: its ssh gives no banner.`,
      "It still runs; vgrid does nothing to it. You get one more mail when it answers again.",
    ],
    command: `vgrid console ${vm.name}`,
    footer: footer(ctx, vm),
  };
  return toOwnerAndAdmins(ctx, "not-responding", `not-responding:${vm.id}:${since}`, vm, body);
}

export function respondingAgainMails(ctx: Pick<ServerContext, "config" | "listenUrl">, vm: VmFacts & { host: string }, since: string): OutgoingMail[] {
  const body: MailBody = {
    title: `Your VM ${vm.name} is responding again`,
    paragraphs: [`Your VM ${vm.name} (on ${vm.host}) answers again; it had not since ${utc(since)}.`],
    footer: footer(ctx, vm),
  };
  return toOwnerAndAdmins(ctx, "responding-again", `responding-again:${vm.id}:${since}`, vm, body);
}

function toOwnerAndAdmins(ctx: Pick<ServerContext, "config" | "listenUrl">, kind: MailKind, key: string, vm: VmFacts, body: MailBody): OutgoingMail[] {
  const owner = mail(kind, key, vm.id, ownerAddress(ctx.config, vm.owner), body.title, body);
  if (!ctx.config.liveness.notifyAdmins) return [owner];
  const admins = (ctx.config.mail?.admins ?? []).map((to) => mail(kind, `${key}:to:${to}`, vm.id, to, `[admin] ${body.title}`, body));
  return [owner, ...admins];
}

/** One mail per [mail] admin for a node that went offline, once per outage (its last sync names it). */
export function nodeOfflineMails(ctx: Pick<ServerContext, "config" | "listenUrl">, node: string, lastSeenAt: string | null, now: Date): OutgoingMail[] {
  const seen = lastSeenAt === null ? "it has never synced" : `its last sync was at ${utc(lastSeenAt)}, ${fromNow(new Date(lastSeenAt), now)}`;
  const body: MailBody = {
    title: `Node ${node} is offline`,
    paragraphs: [
      `The node of host ${node} has not synced for more than ${durationWords(ctx.config.nodeOfflineAfterSeconds)}: ${seen}.`,
      "Its VMs are shown as not responding. Nothing is deleted or placed elsewhere: when the node comes back, it adopts its VMs as they are.",
    ],
    action: { label: "See the hosts", url: `${portalUrl(ctx)}/admin/hosts` },
    footer: "You get this mail because you are listed in [mail] admins of vgrid's server.toml.",
  };
  return (ctx.config.mail?.admins ?? []).map((to) => mail("node-offline", `node-offline:${node}:${lastSeenAt ?? "never"}:to:${to}`, null, to, body.title, body));
}

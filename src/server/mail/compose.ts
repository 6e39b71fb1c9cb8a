// A mail's words as text and as HTML from one description, so that the two never say different
// things; every value is escaped for the HTML (a VM's name or a reason comes from users).

import { escapeHtml } from "../auth/html.js";
import type { ServerConfig } from "../config.js";

export interface MailBody {
  /** The first line, and the HTML's heading. */
  title: string;
  paragraphs: string[];
  /** A button in the HTML, a bare URL on its own line in the text. */
  action?: { label: string; url: string };
  /** A command to type, in a code block. */
  command?: string;
  /** The small print at the end: why this mail came. */
  footer?: string;
}

export function composeText(body: MailBody): string {
  const parts = [body.title, "", ...body.paragraphs.flatMap((p) => [p, ""])];
  if (body.action) parts.push(`${body.action.label}:`, body.action.url, "");
  if (body.command) parts.push(`    ${body.command}`, "");
  if (body.footer) parts.push("--", body.footer);
  return `${parts.join("\n").trimEnd()}\n`;
}

export function composeHtml(body: MailBody): string {
  const p = (text: string) => `<p style="margin:0 0 12px">${escapeHtml(text)}</p>`;
  const action = body.action
    ? `<p style="margin:16px 0"><a href="${escapeHtml(body.action.url)}" style="background:#0b57d0;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(body.action.label)}</a></p>`
    : "";
  const command = body.command ? `<pre style="background:#eceff2;padding:8px 12px;border-radius:4px">${escapeHtml(body.command)}</pre>` : "";
  const footer = body.footer ? `<p style="color:#545d68;font-size:13px;margin-top:24px">${escapeHtml(body.footer)}</p>` : "";
  return `<!doctype html><html><body style="font:15px/1.5 system-ui,sans-serif;color:#1b1f24;max-width:36rem"><h1 style="font-size:20px">${escapeHtml(body.title)}</h1>${body.paragraphs.map(p).join("")}${action}${command}${footer}</body></html>`;
}

/** Where a user's mail goes: `[mail] userAddress` with their name; null without [mail]. */
export function userAddress(config: Pick<ServerConfig, "mail">, username: string): string | null {
  return config.mail === undefined ? null : config.mail.userAddress.replaceAll("${username}", username);
}

/** The admins' addresses, `[mail] admins`. */
export function adminAddresses(config: Pick<ServerConfig, "mail">): string[] {
  return config.mail?.admins ?? [];
}

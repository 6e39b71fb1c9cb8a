// The few server-rendered pages of logging in (they work without JavaScript, before the portal loads): escaped, no script.

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `text` safe inside HTML text and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

export const PAGE_STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}label{display:block;margin:.75rem 0 .25rem}input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}
button{font:inherit;margin-top:1rem;padding:.45rem 1.2rem}.error{color:#a1160a;border-left:4px solid #a1160a;padding-left:.6rem}
a{color:#0b57d0}.button{display:inline-block;padding:.45rem 1.2rem;border:1px solid #0b57d0;border-radius:6px;text-decoration:none;background:#0b57d0;color:#fff}`;

/** A whole page: `body` is HTML already escaped by the caller. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · vgrid</title><link rel="stylesheet" href="/auth/style.css"></head><body><main>${body}</main></body></html>`;
}

/**
 * Where to land after a login: a path on the portal only. Another site (`https://evil.example`,
 * `//evil.example`, `/\evil.example`) or anything odd lands on the portal's front page.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || next.length > 2000) return "/";
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  // Printable ASCII only: control characters and backslashes are how redirects are smuggled, and a
  // Location header cannot carry anything else (the browser sends other characters percent-encoded).
  if (!/^[\x21-\x5b\x5d-\x7e]+$/.test(next)) return "/";
  return next;
}

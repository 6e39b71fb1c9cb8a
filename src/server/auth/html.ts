// The few server-rendered pages of logging in (they work without JavaScript, before the portal loads): escaped, no script.

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `text` safe inside HTML text and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

export const PAGE_STYLE = `html{background:#f6f8fa}body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1b1f24}
main{background:#fff;border:1px solid #d6dbe1;border-radius:8px;padding:1.25rem 1.5rem 1.5rem}
h1{font-size:1.5rem;margin-top:0}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{font:inherit;width:100%;padding:.45rem;box-sizing:border-box;border:1px solid #8c959f;border-radius:6px}
button,.button{font:inherit;margin-top:1rem;padding:.5rem 1.4rem;border-radius:8px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer;display:inline-block;text-decoration:none}
button:hover,.button:hover{background:#0842a0}:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.error{color:#a1160a;background:#fde7e4;border-left:4px solid #a1160a;padding:.4rem .7rem;border-radius:4px}a{color:#0b57d0}
code{background:#eceff2;padding:.1em .35em;border-radius:4px}`;

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

// The portal's origin rule (API.md): a request that changes something and is not authenticated by a
// bearer token must come from the portal's own origin, whatever credential the browser attached
// (cookie, Basic, client certificate, proxy header). Cross-site is what the browser says: an Origin
// other than the portal's, or Sec-Fetch-Site other than same-origin; a request with neither comes
// from a program (wget, curl, the CLI) and is not refused for its origin.

import type { FastifyRequest } from "fastify";
import { isIP } from "node:net";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

export interface PortalOrigin {
  /** Why the request is refused, or undefined when it may go on. */
  refusal(request: FastifyRequest, hasBearer: boolean): string | undefined;
  /** The portal's own origins for a request that arrived on `port` (the first is the canonical one). */
  origins(port: number, hostHeader: string | undefined): string[];
}

export function portalOrigin(publicUrl: string | undefined, listenHost: string, scheme: "http" | "https"): PortalOrigin {
  const fixed = publicUrl === undefined ? undefined : new URL(publicUrl).origin;
  const loopback = listenHost === "localhost" || listenHost === "::1" || listenHost.startsWith("127.");
  const wildcard = listenHost === "0.0.0.0" || listenHost === "::" || listenHost === "";
  const origins = (port: number, hostHeader: string | undefined): string[] => {
    if (fixed !== undefined) return [fixed];
    const names = loopback ? [hostName(listenHost), ...LOOPBACK_NAMES] : [hostName(listenHost)];
    // As browsers write it: without the scheme's default port.
    const list = names.map((n) => new URL(`${scheme}://${n}:${port}`).origin);
    // Listening on every address, the portal is whatever host the browser reached it by.
    if (wildcard && hostHeader !== undefined) list.push(`${scheme}://${hostHeader}`);
    return [...new Set(list)];
  };
  return {
    origins,
    refusal(request, hasBearer) {
      if (SAFE_METHODS.has(request.method) || hasBearer) return undefined;
      const site = request.headers["sec-fetch-site"];
      if (site !== undefined && site !== "same-origin" && site !== "none") {
        return `this request comes from another site (Sec-Fetch-Site: ${site}); changes are taken only from the portal's own pages`;
      }
      const origin = request.headers.origin;
      if (origin === undefined) return undefined;
      const own = origins(request.socket.localPort ?? 0, request.headers.host);
      if (!own.includes(origin)) return `this request comes from ${origin}, not from the portal (${own[0]}); changes are taken only from the portal's own pages`;
      return undefined;
    },
  };
}

function hostName(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

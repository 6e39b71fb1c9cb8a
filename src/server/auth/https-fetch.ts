// A fetch over node:https for talking to a single sign-on provider: it trusts the given CA (a
// provider with the site's own certificate) instead of the public ones, refuses anything but HTTPS,
// and bounds every exchange in time and size. Node's own fetch takes no CA of its own.

import { request } from "node:https";

export interface HttpsFetchOptions {
  /** PEM: the only CA trusted; Node's public roots when absent. */
  ca?: string;
  timeoutMs: number;
  maxBytes: number;
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal | null;
}

/** The body openid-client (or a test's browser) sends, as bytes. */
function bodyBytes(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError("a request body that is not a string, URLSearchParams or bytes");
}

export function httpsFetch(options: HttpsFetchOptions): (url: string, init?: FetchInit) => Promise<Response> {
  return (url, init = {}) =>
    new Promise<Response>((resolvePromise, reject) => {
      const target = new URL(url);
      if (target.protocol !== "https:") {
        reject(new TypeError(`${target.origin} is not HTTPS: the single sign-on is used over HTTPS only`));
        return;
      }
      const body = bodyBytes(init.body);
      const headers: Record<string, string> = { ...init.headers };
      if (body !== undefined) headers["content-length"] = String(body.length);
      const req = request(target, {
        method: init.method ?? "GET",
        headers,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        timeout: options.timeoutMs,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.on("timeout", () => req.destroy(new Error(`${target.origin} did not answer within ${options.timeoutMs / 1000} s`)));
      req.on("error", reject);
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            req.destroy(new Error(`${target.origin} answered more than ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("error", reject);
        res.on("end", () => {
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) answer.append(name, v);
          }
          const status = res.statusCode ?? 502;
          // A Response may carry no body with these statuses.
          const empty = status === 204 || status === 304 || (status >= 100 && status < 200);
          resolvePromise(new Response(empty ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? "", headers: answer }));
        });
      });
      req.end(body);
    });
}

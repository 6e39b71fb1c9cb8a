// The node's side of the wire to its server: POSTs of the sync protocol on a connection pool of its own.

import type { Agent } from "node:http";
import { Value } from "typebox/value";
import { SYNC_PATH, SyncResponseSchema, type SyncRequest, type SyncResponse } from "../core/protocol.js";
import { explainTlsError, tlsOptions, type ServerTrust } from "./server-trust.js";
import { RateLimited } from "./sync-loop.js";

/**
 * node:http, or node:https for a server at an https URL, taken only when used: TLS costs an agent
 * 9 MB of memory. And not `import http from "node:http"`: an ES import reads every export, and the
 * lazy WebSocket getters among them load Node's whole fetch stack (undici, http2), 15 MB more.
 */
type HttpClient = Pick<typeof import("node:http"), "Agent" | "request">;

function httpClient(url: URL): HttpClient {
  return url.protocol === "https:" ? process.getBuiltinModule("node:https") : process.getBuiltinModule("node:http");
}

/**
 * Why not fetch: after a long-poll is aborted, fetch keeps a spare idle connection the server's
 * close() then waits on; a pool of our own is closed with the agent.
 */
export class ServerLink {
  private readonly client: HttpClient;
  private readonly pool: Agent;

  constructor(
    private readonly serverUrl: string,
    private readonly token: string,
    private readonly trust: ServerTrust = {},
  ) {
    const url = new URL(serverUrl);
    this.client = httpClient(url);
    // Over HTTPS the server's certificate is checked against serverCa, or the system's CAs.
    this.pool = new this.client.Agent({ keepAlive: true, ...(url.protocol === "https:" ? tlsOptions(trust) : {}) });
  }

  async sync(body: SyncRequest, waitSeconds: number, signal: AbortSignal): Promise<SyncResponse> {
    const url = new URL(SYNC_PATH, this.serverUrl);
    const { status, retryAfter, json } = await postJson(this.client, url, body, {
      authorization: `Bearer ${this.token}`,
      agent: this.pool,
      signal: AbortSignal.any([signal, AbortSignal.timeout((waitSeconds + 15) * 1000)]),
    }).catch((err: unknown) => {
      throw explainTlsError(err, this.trust);
    });
    const detail = `server answered ${status}: ${(json as { detail?: string }).detail ?? ""}`;
    if (status === 429) throw new RateLimited(retryAfterMs(retryAfter, Date.now()), detail);
    if (status < 200 || status > 299) throw new Error(detail);
    if (!Value.Check(SyncResponseSchema, json)) throw new Error("server answered with a malformed sync response");
    return json;
  }

  close(): void {
    this.pool.destroy();
  }
}

/**
 * A Retry-After header in milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110, 10.2.3);
 * undefined when there is none or it is neither.
 */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; Date.parse alone would take "1.5" or "2030" as dates too.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** POSTs `body` as JSON and reads the JSON answer, on the given connection pool; rejects on abort. */
function postJson(
  client: HttpClient,
  url: URL,
  body: unknown,
  opts: { authorization: string; agent: Agent; signal: AbortSignal },
): Promise<{ status: number; retryAfter: string | undefined; json: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: "POST",
        agent: opts.agent,
        signal: opts.signal,
        headers: {
          authorization: opts.authorization,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("close", () => {
          if (!res.complete) return reject(new Error("the server closed the connection before its answer ended"));
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], json });
          } catch {
            reject(new Error(`server answered ${res.statusCode} with a body that is not JSON`));
          }
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

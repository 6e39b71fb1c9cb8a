// The node's side of the wire to its server: POSTs of the sync protocol on a connection pool of its own.

import type { Agent } from "node:http";
import { Value } from "typebox/value";
import { SYNC_PATH, SyncResponseSchema, type SyncRequest, type SyncResponse } from "../core/protocol.js";

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
  ) {
    this.client = httpClient(new URL(serverUrl));
    this.pool = new this.client.Agent({ keepAlive: true });
  }

  async sync(body: SyncRequest, waitSeconds: number, signal: AbortSignal): Promise<SyncResponse> {
    const url = new URL(SYNC_PATH, this.serverUrl);
    const { status, json } = await postJson(this.client, url, body, {
      authorization: `Bearer ${this.token}`,
      agent: this.pool,
      signal: AbortSignal.any([signal, AbortSignal.timeout((waitSeconds + 15) * 1000)]),
    });
    if (status < 200 || status > 299) throw new Error(`server answered ${status}: ${(json as { detail?: string }).detail ?? ""}`);
    if (!Value.Check(SyncResponseSchema, json)) throw new Error("server answered with a malformed sync response");
    return json;
  }

  close(): void {
    this.pool.destroy();
  }
}

/** POSTs `body` as JSON and reads the JSON answer, on the given connection pool; rejects on abort. */
function postJson(
  client: HttpClient,
  url: URL,
  body: unknown,
  opts: { authorization: string; agent: Agent; signal: AbortSignal },
): Promise<{ status: number; json: unknown }> {
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
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown });
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

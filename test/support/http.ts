// A plain HTTP client on a connection pool of the test's own size, for tests that need many requests
// in flight at once (fetch's pool is not ours to size): a flood on a few connections, or thousands of
// long-polls each on its own socket.

import http from "node:http";

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The JSON body, or null when the body is empty or not JSON. */
  body: T;
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly url: string,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  /** POSTs `body` (a string is sent as it is, as broken JSON can be); `signal` ends the request and its socket. */
  post<T = unknown>(path: string, token: string, body: unknown, signal?: AbortSignal): Promise<HttpAnswer<T>> {
    const payload = typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        new URL(path, this.url),
        {
          method: "POST",
          agent: this.agent,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown = null;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              // not JSON: the caller sees null and the status
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: json as T });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Closes every socket of the pool, idle or not. */
  close(): void {
    this.agent.destroy();
  }
}

// A small typed client for the vgrid REST API (/api/v1): the CLI talks to the server like any other user.

import type { DeployRequest, Image, Me, SshKeys, Vm } from "../core/api.js";
import type { PowerAction } from "../core/vm-state.js";
import { oneLine } from "./errors.js";

export type { DeployRequest, Image, Me, Vm };

export const DEFAULT_URL = "http://127.0.0.1:8080";

/** A server that accepts the connection and never answers must not hang a script forever. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The server said no: its problem+json, with `detail` as the message a person acts on. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    /** The last segment of the problem's `type` URI, e.g. `no-capacity`. */
    readonly slug: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** The server could not be reached at all, or did not answer in time. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
}

/** Configuration the client cannot work without (VGRID_TOKEN, a usable VGRID_URL). */
export class ClientConfigError extends Error {
  override readonly name = "ClientConfigError";
}

export interface ClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** The one place the CLI reads VGRID_URL and VGRID_TOKEN. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
    const token = env.VGRID_TOKEN?.trim();
    if (!token) {
      throw new ClientConfigError(
        "VGRID_TOKEN is not set: set it to an API token (on the server machine, `vgrid token create --user NAME` prints one)",
      );
    }
    return new ApiClient({ baseUrl: env.VGRID_URL?.trim() || DEFAULT_URL, token });
  }

  me(): Promise<Me> {
    return this.request<Me>("GET", "/me");
  }

  images(): Promise<Image[]> {
    return this.listAll<Image>("/images", new URLSearchParams());
  }

  async setSshKeys(keys: string[]): Promise<string[]> {
    return (await this.request<SshKeys>("PUT", "/me/ssh-keys", { keys })).keys;
  }

  createVm(request: DeployRequest): Promise<Vm> {
    return this.request<Vm>("POST", "/vms", request);
  }

  /** The caller's VMs (an admin's `all`: everyone's); `terminated`: the history instead of the live ones. */
  async listVms(options: { all?: boolean; terminated?: boolean } = {}): Promise<Vm[]> {
    const query = new URLSearchParams();
    if (options.all) query.set("all", "true");
    if (options.terminated) query.set("state", "terminated");
    return this.listAll<Vm>("/vms", query);
  }

  /** Every item of a list, page after page: the server's `next` is passed back as `cursor`. */
  private async listAll<T>(path: string, query: URLSearchParams): Promise<T[]> {
    const items: T[] = [];
    for (let cursor: string | undefined; ; ) {
      const page = new URLSearchParams(query);
      if (cursor !== undefined) page.set("cursor", cursor);
      const text = page.size > 0 ? `?${page.toString()}` : "";
      const answer = await this.request<{ items: T[]; next?: string }>("GET", `${path}${text}`);
      items.push(...answer.items);
      if (answer.next === undefined || answer.items.length === 0) return items;
      cursor = answer.next;
    }
  }

  getVm(id: string): Promise<Vm> {
    return this.request<Vm>("GET", `/vms/${encodeURIComponent(id)}`);
  }

  /** Without a reason, the request has no body at all (as servers before reasons took it). */
  terminateVm(id: string, reason?: string): Promise<Vm> {
    return this.request<Vm>("DELETE", `/vms/${encodeURIComponent(id)}`, reason === undefined ? undefined : { reason });
  }

  /** POST /vms/{id}/stop, /start or /reboot; `force` only when asked (a start has nothing to force). */
  powerVm(id: string, action: PowerAction, force: boolean): Promise<Vm> {
    return this.request<Vm>("POST", `/vms/${encodeURIComponent(id)}/${action}`, force ? { force: true } : undefined);
  }

  extendVm(id: string, hours: number): Promise<Vm> {
    return this.request<Vm>("POST", `/vms/${encodeURIComponent(id)}/extend`, { hours });
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}/api/v1${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json" };
    // The server is strict about content types: only send one with a body.
    if (body !== undefined) headers["content-type"] = "application/json";
    let status: number;
    let statusText: string;
    let text: string;
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      ({ status, statusText } = res);
      text = await res.text();
    } catch (err) {
      throw connectionError(this.baseUrl, err, this.timeoutMs);
    }
    if (status < 200 || status > 299) throw problemError(status, statusText, text, url);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ConnectionError(
        `${method} ${url} answered ${status} with something that is not JSON: is VGRID_URL (${this.baseUrl}) a vgrid server?`,
      );
    }
  }
}

/** VGRID_URL is the base URL without /api/v1; tolerate a trailing slash or an /api/v1 someone added anyway. */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientConfigError(`VGRID_URL '${raw}' is not a URL: set it like ${DEFAULT_URL}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ClientConfigError(`VGRID_URL '${raw}' is not an http(s) URL: set it like ${DEFAULT_URL}`);
  }
  return raw.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
}

/** `/problems/no-capacity` → `no-capacity`; a bare `about:blank` stays as it is. */
export function problemSlug(type: string): string {
  return type.split("/").filter(Boolean).pop() ?? type;
}

/** Turns a non-2xx answer into an ApiError; a body that is not problem+json (a proxy's page) still gives a line. */
export function problemError(status: number, statusText: string, body: string, url: string): ApiError {
  let problem: { type?: unknown; title?: unknown; detail?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object") problem = parsed;
  } catch {
    // not JSON: fall through to a message built from the status
  }
  const type = typeof problem.type === "string" ? problem.type : "about:blank";
  const detail =
    (typeof problem.detail === "string" && problem.detail) ||
    (typeof problem.title === "string" && problem.title) ||
    `${url} answered ${status} ${statusText}`.trim();
  return new ApiError(status, problemSlug(type), oneLine(detail));
}

function connectionError(baseUrl: string, err: unknown, timeoutMs: number): ConnectionError {
  const hint = "start one with `vgrid up` or set VGRID_URL";
  if (err instanceof Error && err.name === "TimeoutError") {
    return new ConnectionError(`the vgrid server at ${baseUrl} did not answer within ${timeoutMs / 1000} s`);
  }
  // fetch wraps the socket error (ECONNREFUSED, ENOTFOUND, ...) as its cause.
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code;
  const reason =
    (code && SOCKET_ERRORS[code]) ?? code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new ConnectionError(`cannot reach the vgrid server at ${baseUrl} (${reason}): ${hint}`);
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ETIMEDOUT: "connection timed out",
};


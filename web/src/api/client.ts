// How the portal talks to the server: the public REST API only, with the session cookie. Every error
// becomes an ApiError carrying the problem+json detail, the words a person is shown.

import type { Problem } from "../../../src/core/api.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail);
  }
}

/** Where a person goes when the server no longer knows them: the login, then back here. */
export function goToLogin(): void {
  const here = `${window.location.pathname}${window.location.search}`;
  window.location.assign(here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`);
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as Partial<Problem>;
    if (typeof body.detail === "string") return { type: body.type ?? "about:blank", title: body.title ?? response.statusText, status: response.status, detail: body.detail };
  } catch {
    // not problem+json: a proxy's page, a connection cut
  }
  return { type: "about:blank", title: response.statusText, status: response.status, detail: `The server answered ${response.status} ${response.statusText}: try again in a moment.` };
}

async function call(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method: init.method ?? "GET",
      credentials: "same-origin",
      headers: init.body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
      body: init.body === undefined ? null : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(0, { type: "about:blank", title: "Offline", status: 0, detail: "The server cannot be reached: check your connection; the page goes on once it is back." });
  }
  if (response.status === 401) {
    goToLogin();
    throw new ApiError(401, await problemOf(response));
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await call(path)).json() as Promise<T>;
}

export async function sendJson<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const response = await call(path, { method, body });
  return (response.status === 204 ? undefined : await response.json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await call(path)).text();
}

/** A query string of the filters that are set. */
export function query(params: Record<string, string | undefined>): string {
  const set = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "");
  return set.length === 0 ? "" : `?${new URLSearchParams(set).toString()}`;
}

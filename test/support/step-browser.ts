// A small scripted browser for login tests (the real one is browser.ts): it keeps cookies per host, follows nothing by itself (each
// redirect is a step the test sees), sends the portal's requests into the app (inject) and the
// others over HTTPS trusting the test's CA.

import type { FastifyInstance } from "fastify";
import { httpsFetch } from "../../src/server/auth/https-fetch.js";

export interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

export class Browser {
  /** host -> cookie name -> value */
  readonly cookies = new Map<string, Map<string, string>>();
  private readonly fetch: ReturnType<typeof httpsFetch>;

  constructor(
    private readonly portal: { origin: string; app: FastifyInstance },
    ca: string,
  ) {
    this.fetch = httpsFetch({ ca, timeoutMs: 10_000, maxBytes: 1024 * 1024 });
  }

  /** One request, as a browser sends it: its cookies for the host, a form as urlencoded. */
  async open(url: string, form?: Record<string, string>): Promise<Answer> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    const jar = this.cookies.get(target.host);
    if (jar && jar.size > 0) headers.cookie = [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers.origin = target.origin;
    }
    const method = body === undefined ? "GET" : "POST";
    let answer: Answer;
    let setCookies: string[];
    if (target.origin === this.portal.origin) {
      const res = await this.portal.app.inject({ method, url: target.pathname + target.search, headers, ...(body === undefined ? {} : { payload: body }) });
      const raw = res.headers["set-cookie"];
      setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      answer = { status: res.statusCode, location: res.headers.location, body: res.body };
    } else {
      const res = await this.fetch(url, { method, headers, body });
      setCookies = res.headers.getSetCookie();
      answer = { status: res.status, location: res.headers.get("location") ?? undefined, body: await res.text() };
    }
    for (const line of setCookies) this.keep(target.host, line);
    if (answer.location !== undefined) answer.location = new URL(answer.location, target).href;
    return answer;
  }

  /** The value of the cookie `name` this browser holds for `url`'s host. */
  cookie(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).host)?.get(name);
  }

  setCookie(url: string, name: string, value: string): void {
    const host = new URL(url).host;
    if (!this.cookies.has(host)) this.cookies.set(host, new Map());
    this.cookies.get(host)!.set(name, value);
  }

  private keep(host: string, line: string): void {
    const [pair = "", ...attributes] = line.split(";").map((p) => p.trim());
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const gone = attributes.some((a) => /^max-age=(0|-)/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
    if (!this.cookies.has(host)) this.cookies.set(host, new Map());
    const jar = this.cookies.get(host)!;
    if (gone || value === "") jar.delete(name);
    else jar.set(name, value);
  }
}

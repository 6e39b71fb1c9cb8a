// GET /api/v1/events: Server-Sent Events of VM changes the caller may see (theirs, or all for an admin).
// A stream lasts only while its credential does: it is checked again before each batch of events and
// every `[events] recheckSeconds`, and a stream ends after `lifetimeSeconds` anyway (the browser's
// EventSource reconnects on its own, logging in again). A user holds at most `maxStreamsPerUser`.

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import type { ServerResponse } from "node:http";
import type { Vm } from "../../../core/api.js";
import { VgridError } from "../../../core/errors.js";
import type { ServerContext } from "../../context.js";
import type { User } from "../../store/users.js";
import { viewFor } from "../../vms/service.js";
import type { Authenticator } from "../../auth/authenticator.js";
import { requireUser } from "../auth.js";

/** Comment lines keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 20_000;
/** How long a client waits before it reconnects to a stream that ended (SSE's `retry:`). */
const RECONNECT_MS = 3000;

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

function maySee(user: User, vm: Vm): boolean {
  return user.admin || vm.owner === user.name;
}

/**
 * One open stream: events are queued while its credential is checked, then written in one go, so that
 * a burst of changes costs one check, and nothing is written once the credential is gone.
 */
class EventStream {
  private readonly queue: Vm[] = [];
  private checking = false;
  private ended = false;

  constructor(
    private readonly out: ServerResponse,
    private user: User,
    private readonly recheck: () => Promise<User | undefined>,
  ) {}

  push(vm: Vm): void {
    // Another user's VM costs nothing: only what the user may see (as last checked) waits for a check.
    if (this.ended || !maySee(this.user, vm)) return;
    this.queue.push(vm);
    void this.flush();
  }

  /** Checks the credential now (the periodic check): an idle stream of a revoked token ends too. */
  check(): void {
    void this.flush();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.out.end();
  }

  private async flush(): Promise<void> {
    if (this.checking || this.ended) return;
    this.checking = true;
    try {
      for (;;) {
        const user = await this.recheck();
        if (user === undefined) return this.end();
        this.user = user;
        // What the user may see is read again too: an admin demoted meanwhile sees only their own VMs.
        const batch = this.queue.splice(0).filter((vm) => maySee(user, vm));
        for (const vm of batch) this.out.write(`event: vm\ndata: ${JSON.stringify(viewFor(user, vm))}\n\n`);
        // Events that came during the check are written after a check of their own.
        if (this.queue.length === 0) return;
      }
    } finally {
      this.checking = false;
    }
  }
}

export function eventRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncTypebox {
  const { recheckSeconds, maxStreamsPerUser, lifetimeSeconds } = ctx.config.events;
  return async (app) => {
    // Open streams end when the server closes; otherwise close() would wait on them forever.
    const open = new Set<EventStream>();
    const perUser = new Map<string, number>();
    app.addHook("preClose", async () => {
      for (const stream of open) stream.end();
    });

    /** The caller as their credential says now; undefined once it no longer holds (or the store is away). */
    const recheck = (request: FastifyRequest) => async () => (await auth.identify(request).catch(() => null))?.user;

    app.get(
      "/events",
      {
        // HEAD would run this handler and open a stream that never ends: it has its own route below.
        exposeHeadRoute: false,
        schema: {
          tags: ["vms"],
          summary: "Server-Sent Events: one `vm` event with the vm object each time one of your VMs changes",
          produces: ["text/event-stream"],
        },
      },
      async (request, reply) => {
        const user = requireUser(request);
        const held = perUser.get(user.name) ?? 0;
        if (held >= maxStreamsPerUser) {
          reply.header("retry-after", String(Math.ceil(recheckSeconds)));
          throw new VgridError(
            "rate-limited",
            `you have ${held} event streams open, the most one user may ([events] maxStreamsPerUser); close one (a browser tab, a script) first`,
          );
        }
        perUser.set(user.name, held + 1);
        reply.hijack();
        const out = reply.raw;
        out.writeHead(200, SSE_HEADERS);
        out.write(`retry: ${RECONNECT_MS}\n: vgrid events\n\n`);
        const stream = new EventStream(out, user, recheck(request));
        const stop = ctx.hub.onVm((vm) => stream.push(vm));
        const keepalive = setInterval(() => out.write(": keepalive\n\n"), KEEPALIVE_MS);
        const rechecks = setInterval(() => stream.check(), recheckSeconds * 1000);
        const lifetime = setTimeout(() => stream.end(), lifetimeSeconds * 1000);
        open.add(stream);
        out.once("close", () => {
          clearInterval(keepalive);
          clearInterval(rechecks);
          clearTimeout(lifetime);
          stop();
          open.delete(stream);
          const left = (perUser.get(user.name) ?? 1) - 1;
          if (left > 0) perUser.set(user.name, left);
          else perUser.delete(user.name);
        });
      },
    );

    app.head("/events", { schema: { hide: true } }, async (request, reply) => {
      requireUser(request);
      return reply.headers(SSE_HEADERS).send();
    });
  };
}

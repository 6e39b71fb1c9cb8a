// Expected failures as values with a kind. Every kind of problem the server can answer is declared once
// in PROBLEMS, with its status, title and explanation; the API maps every error through it, the
// framework's own included, and `/problems/SLUG` serves the explanation.

interface ProblemKind {
  status: number;
  title: string;
  /** What the problem means and what to do: served at /problems/SLUG. */
  explanation: string;
}

export const PROBLEMS = {
  invalid: {
    status: 400,
    title: "Bad request",
    explanation: "The request is malformed or asks for something that can never be satisfied; the detail names the field.",
  },
  unauthorized: {
    status: 401,
    title: "Not logged in",
    explanation: "No valid credentials: send 'Authorization: Bearer TOKEN' (vgrid token create prints one).",
  },
  forbidden: { status: 403, title: "Not allowed", explanation: "You are logged in but not allowed to do this." },
  "not-found": { status: 404, title: "Not found", explanation: "No such thing, or it is not yours." },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    explanation: "The path exists but not with this method; the API is described at /api/docs.",
  },
  "no-capacity": {
    status: 409,
    title: "No host has room for this VM",
    explanation: "No online host has room for the VM right now; retry after a VM is terminated.",
  },
  "pool-exhausted": {
    status: 409,
    title: "No free hostname in the pool",
    explanation: "Every hostname of the pool is in use; retry after a VM is terminated.",
  },
  "quota-exceeded": {
    status: 409,
    title: "Quota exceeded",
    explanation:
      "The VM would take you beyond your quota of VMs, memory or cpus (GET /api/v1/me shows it and what you use); terminate a VM, ask for a smaller one, or ask an admin for a larger quota.",
  },
  "too-many-tokens": {
    status: 409,
    title: "Too many API tokens",
    explanation: "You hold as many API tokens as one user may; revoke one you no longer use (DELETE /api/v1/tokens/ID) first.",
  },
  "wrong-state": {
    status: 409,
    title: "The VM is not in a state that allows this",
    explanation: "The VM is not in a state that allows this action.",
  },
  "too-large": { status: 413, title: "Payload too large", explanation: "The request body is too large." },
  "uri-too-long": {
    status: 414,
    title: "URI too long",
    explanation: "A part of the path is longer than any id or name vgrid uses.",
  },
  "unsupported-media-type": { status: 415, title: "Unsupported media type", explanation: "Send the body as application/json." },
  "rate-limited": {
    status: 429,
    title: "Too many requests",
    explanation:
      "More requests came with this credential than the server takes in a while (a user's deploys: [rateLimit] in server.toml; a node's syncs; a user's open event streams); wait the seconds the Retry-After header says, then retry. A vgrid node does so on its own; one that is limited often is syncing in a loop or its token is used elsewhere.",
  },
  "shutting-down": {
    status: 503,
    title: "The server is shutting down",
    explanation: "The server is stopping; retry in a moment, on it or on another replica.",
  },
  "store-unavailable": {
    status: 503,
    title: "The server cannot reach its database",
    explanation:
      "The server's database (PostgreSQL, or a SQLite file too busy to write) does not answer right now, so nothing was read or changed; retry in a moment. A deploy answered so may still have been made just before the database went away: list your VMs to see.",
  },
  "key-repository-unavailable": {
    status: 503,
    title: "The lab's key repository did not answer",
    explanation:
      "You stored no ssh key, so vgrid asked the lab's key repository ([keys] url in server.toml) for yours, and it could not be asked (down, too slow, a certificate vgrid does not trust, or an answer too large). Add a key with PUT /api/v1/me/ssh-keys (vgrid keys add FILE), or pass sshKeys, or retry later.",
  },
  "no-node": {
    status: 503,
    title: "No node online",
    explanation: "No node is online to run VMs; start one or wait for it to connect.",
  },
  internal: {
    status: 500,
    title: "Internal server error",
    explanation: "The server failed; the error was logged with the request id.",
  },
} as const satisfies Record<string, ProblemKind>;

export type ProblemSlug = keyof typeof PROBLEMS;
export type ConflictKind = "no-capacity" | "pool-exhausted" | "quota-exceeded" | "too-many-tokens" | "wrong-state";

/** The kinds by slug in a Map: a slug from a URL is never looked up among an object's properties (`constructor`). */
const KINDS: ReadonlyMap<string, ProblemKind> = new Map(Object.entries(PROBLEMS));

/** The registered kind of `slug`, or undefined. */
export function problemKind(slug: string): ProblemKind | undefined {
  return KINDS.get(slug);
}

/** An expected failure of a registered kind; `message` is the detail a person acts on. */
export class VgridError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly slug: ProblemSlug,
    detail: string,
  ) {
    super(detail);
    this.status = PROBLEMS[slug].status;
    this.title = PROBLEMS[slug].title;
  }
}

export class Invalid extends VgridError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super("invalid", reason);
  }
}

export class Unauthorized extends VgridError {
  constructor(detail: string) {
    super("unauthorized", detail);
  }
}

export class Forbidden extends VgridError {
  constructor(detail: string) {
    super("forbidden", detail);
  }
}

export class NotFound extends VgridError {
  constructor(detail: string) {
    super("not-found", detail);
  }
}

export class Conflict extends VgridError {
  constructor(kind: ConflictKind, detail: string) {
    super(kind, detail);
  }
}

export class Unavailable extends VgridError {
  constructor(detail: string) {
    super("no-node", detail);
  }
}

/** A config file that cannot be used: names the file, the key and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    reason: string,
  ) {
    super(`${file}: ${key}: ${reason}`);
  }
}

// Expected failures as values with a kind; the API maps them to problem+json in one place.

export type ConflictKind = "no-capacity" | "pool-exhausted" | "quota-exceeded" | "wrong-state";

export abstract class VgridError extends Error {
  abstract readonly status: number;
  abstract readonly slug: string;
  abstract readonly title: string;
}

export class Invalid extends VgridError {
  readonly status = 400;
  readonly slug = "invalid";
  readonly title = "Bad request";
  constructor(readonly field: string, reason: string) {
    super(reason);
  }
}

export class Unauthorized extends VgridError {
  readonly status = 401;
  readonly slug = "unauthorized";
  readonly title = "Not logged in";
}

export class Forbidden extends VgridError {
  readonly status = 403;
  readonly slug = "forbidden";
  readonly title = "Not allowed";
}

export class NotFound extends VgridError {
  readonly status = 404;
  readonly slug = "not-found";
  readonly title = "Not found";
}

export class Conflict extends VgridError {
  readonly status = 409;
  readonly title: string;
  constructor(readonly slug: ConflictKind, detail: string) {
    super(detail);
    this.title = CONFLICT_TITLES[slug];
  }
}

export class Unavailable extends VgridError {
  readonly status = 503;
  readonly slug = "no-node";
  readonly title = "No node online";
}

/** A config file that cannot be used: names the file, the key and the fix. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly key: string, reason: string) {
    super(`${file}: ${key}: ${reason}`);
  }
}

const CONFLICT_TITLES: Record<ConflictKind, string> = {
  "no-capacity": "No host has room for this VM",
  "pool-exhausted": "No free hostname in the pool",
  "quota-exceeded": "Quota exceeded",
  "wrong-state": "The VM is not in a state that allows this",
};

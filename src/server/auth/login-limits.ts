// Failed logins counted per account and per address over the last minute ([rateLimit]
// loginFailuresPerUserPerMinute, loginFailuresPerAddressPerMinute): past either, the next attempt is a
// 429 with Retry-After until the oldest failure is a minute old. A slow brute force of one account is
// stopped, and its owner is never locked out for more than that minute. Counted in each replica's
// memory: with N replicas behind a balancer an attacker gets at most N times the limit.

import { VgridError } from "../../core/errors.js";

const WINDOW_MS = 60_000;
/** Keys forgotten when their failures are all older than the window; bounded memory under a flood. */
const MAX_KEYS = 100_000;

export class FailureWindow {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may now. */
  waitSeconds(key: string): number {
    if (this.perMinute === 0) return 0;
    const recent = this.recent(key);
    if (recent.length < this.perMinute) return 0;
    return Math.max(1, Math.ceil((recent[0]! + WINDOW_MS - this.now()) / 1000));
  }

  fail(key: string): void {
    if (this.perMinute === 0) return;
    const recent = this.recent(key);
    recent.push(this.now());
    this.failures.delete(key);
    this.failures.set(key, recent);
    if (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(key: string): number[] {
    const since = this.now() - WINDOW_MS;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }
}

export interface LoginLimits {
  /** Throws a 429 when the account or the address failed too often in the last minute. */
  check(user: string, address: string): void;
  fail(user: string, address: string): void;
}

export function loginLimits(perUser: number, perAddress: number, now: () => number = Date.now): LoginLimits {
  const users = new FailureWindow(perUser, now);
  const addresses = new FailureWindow(perAddress, now);
  return {
    check(user, address) {
      const wait = Math.max(users.waitSeconds(user), addresses.waitSeconds(address));
      if (wait > 0) {
        throw new RateLimited(wait, `too many failed logins for this account or from this address in the last minute; try again in ${wait} s`);
      }
    },
    fail(user, address) {
      users.fail(user);
      addresses.fail(address);
    },
  };
}

/** A 429 whose Retry-After the error handler sends. */
export class RateLimited extends VgridError {
  constructor(
    readonly retryAfterSeconds: number,
    detail: string,
  ) {
    super("rate-limited", detail);
  }
}

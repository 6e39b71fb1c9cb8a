// When a mail that failed is tried again: exponential backoff, never more than 5 minutes apart
// (API.md), for 3 days; then it is given up, with the reason. Pure: the sender hands in the times.

/** The first retry comes this soon after the first failure; each next waits twice as long. */
export const FIRST_RETRY_MS = 15_000;
/** API.md: failed sends are retried at most 5 minutes apart. */
export const MAX_RETRY_MS = 5 * 60_000;
/**
 * A mail is given up only after this long: an SMTP server down for a long weekend, or a password
 * changed on Friday evening, must not lose Monday's warnings.
 */
export const GIVE_UP_AFTER_MS = 3 * 24 * 3600_000;

/** How long to wait after the `tries`-th failed try (1 for the first). */
export function retryDelayMs(tries: number): number {
  // 2^19 × 15 s is far beyond the cap: the exponent stops growing long before it could overflow.
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(tries - 1, 0), 20));
}

export type RetryDecision = { retryAt: Date } | { giveUp: string };

/**
 * After the `tries`-th failed try of a mail queued at `createdAt`, with `error` in words: when to try
 * again, or why it is given up. `permanent`: the SMTP server refused this mail for good (a recipient
 * it does not know), which no retry would change.
 */
export function afterFailure(createdAt: Date, tries: number, now: Date, error: string, permanent: boolean): RetryDecision {
  if (permanent) return { giveUp: `${error}; not tried again` };
  const retryAt = new Date(now.getTime() + retryDelayMs(tries));
  if (retryAt.getTime() - createdAt.getTime() > GIVE_UP_AFTER_MS) {
    return { giveUp: `given up after ${tries} tries over ${describeSpan(now.getTime() - createdAt.getTime())}: ${error}` };
  }
  return { retryAt };
}

function describeSpan(ms: number): string {
  const hours = Math.round(ms / 3600_000);
  return hours >= 48 ? `${Math.round(hours / 24)} days` : `${hours} hours`;
}

// Expiry arithmetic: how far an owner's extend moves a VM's expiry, as a pure function of its expiry,
// the time and the policy ([expiry] maxHours), so that the rule is tested without a server.

const HOUR_MS = 3600_000;

export type Extension =
  /** The new expiry: `hours` after the later of the current expiry and now. */
  | { expiresAt: Date }
  /** Beyond the policy: the most hours that could be added now (0 when none), floored to 1/100 h. */
  | { mostHours: number };

/**
 * Extending adds `hours` to the later of the VM's expiry and now, so that it never shortens a life
 * (two days left plus two hours is two days and two hours); the result may be at most `maxHours`
 * from now. `current` null (a VM that never expires) is not for this function: nothing would be longer.
 */
export function extendedExpiry(current: Date, now: Date, hours: number, maxHours: number): Extension {
  const from = Math.max(current.getTime(), now.getTime());
  const furthest = now.getTime() + maxHours * HOUR_MS;
  const expiresAt = from + hours * HOUR_MS;
  if (expiresAt <= furthest) return { expiresAt: new Date(expiresAt) };
  return { mostHours: Math.max(0, Math.floor(((furthest - from) / HOUR_MS) * 100) / 100) };
}

/**
 * When the policy pass must first look at a VM whose expiry was set (deploy, extend) at `from`: its
 * first warning still to come, else its expiry. A warning whose time has passed by `from` (or is `from`
 * itself: a 24 h VM is not warned at once that it has 24 h) is never sent (API.md).
 * `warningsSeconds` is longest first.
 */
export function firstPolicyAt(expiresAt: Date, from: Date, warningsSeconds: readonly number[]): Date {
  for (const seconds of warningsSeconds) {
    const at = expiresAt.getTime() - seconds * 1000;
    if (at > from.getTime()) return new Date(at);
  }
  return expiresAt;
}

/** What the policy pass does now for a live VM that is not in its grace period. */
export type ExpiryStep =
  /** Mail the warning of `seconds` announcing `expiresAt` (later than the VM's own when `late`); look again at `next`. */
  | { kind: "warn"; seconds: number; expiresAt: Date; late: boolean; next: Date }
  /** At or past its expiry and the last warning's: expire it. */
  | { kind: "expire" }
  /** Nothing now; look again at `next`. */
  | { kind: "wait"; next: Date };

export interface ExpiryFacts {
  expiresAt: Date;
  /** When the pass was to look at it: its next warning's time, or its expiry. */
  policyAt: Date;
  /** The expiry the last warning announced, if one did. */
  warnedExpiresAt: Date | null;
  now: Date;
  /** Longest first. */
  warningsSeconds: readonly number[];
}

/**
 * The next step of the expiry policy for a VM, a pure function of its facts:
 * - the warnings whose time fell between `policyAt` and now are due: only the latest of them is sent
 *   (a pass that ran late does not send "72 hours left" beside "24 hours left");
 * - a VM is never expired before the expiry its last warning announced (CrownLabs#995: warned of 24 h,
 *   deleted after 5), even when an admin has moved its expiry earlier since;
 * - a VM whose warning was due but never sent (the server was down across it and its expiry) is not
 *   expired unwarned: it is warned now, with the shortest warning's time from now as its new expiry.
 */
export function expiryStep(f: ExpiryFacts): ExpiryStep {
  const now = f.now.getTime();
  const expiry = f.expiresAt.getTime();
  const end = Math.max(expiry, f.warnedExpiresAt?.getTime() ?? expiry);
  const warningPending = f.policyAt.getTime() < expiry && f.warnedExpiresAt?.getTime() !== expiry;
  const shortest = f.warningsSeconds.at(-1);
  if (now >= end) {
    if (!warningPending || shortest === undefined) return { kind: "expire" };
    const announced = new Date(now + shortest * 1000);
    return { kind: "warn", seconds: shortest, expiresAt: announced, late: true, next: announced };
  }
  if (now < f.policyAt.getTime()) return { kind: "wait", next: f.policyAt };
  const due = f.warningsSeconds.filter((s) => {
    const at = expiry - s * 1000;
    return at >= f.policyAt.getTime() && at <= now;
  });
  // After the last warning, the next look is the expiry (or the later one the last warning announced).
  const next = firstPolicyAt(f.expiresAt, f.now, f.warningsSeconds);
  const nextAt = next.getTime() === expiry ? new Date(end) : next;
  const latest = due.at(-1);
  if (latest === undefined) return { kind: "wait", next: nextAt };
  return { kind: "warn", seconds: latest, expiresAt: f.expiresAt, late: false, next: nextAt };
}

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

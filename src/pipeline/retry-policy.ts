export const JITTER = 0.2;

/**
 * The delay before attempt `index` (0 is never jittered; later ones ±20%). A `Retry-After` is honoured within the
 * schedule: never sooner than it says, never later than its longest delay.
 */
export function delayBeforeAttempt(schedule: readonly number[], index: number, retryAfterMs: number | undefined, random: () => number): number | undefined {
  const base = schedule[index];
  if (base === undefined) return undefined;
  const jittered = index === 0 ? base : Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  if (retryAfterMs === undefined) return jittered;
  return Math.min(Math.max(retryAfterMs, jittered), Math.max(...schedule, jittered));
}

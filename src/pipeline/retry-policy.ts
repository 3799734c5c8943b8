export const JITTER = 0.2;

/**
 * The delay before the attempt at `index` of the schedule (0 is the first attempt, never jittered). Later
 * delays get ±20% jitter so that retries of a burst spread out. A `Retry-After` from the receiver is honoured
 * within the schedule's bounds: never sooner than the schedule says, never later than its longest delay.
 */
export function delayBeforeAttempt(schedule: readonly number[], index: number, retryAfterMs: number | undefined, random: () => number): number | undefined {
  const base = schedule[index];
  if (base === undefined) return undefined;
  const jittered = index === 0 ? base : Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  if (retryAfterMs === undefined) return jittered;
  return Math.min(Math.max(retryAfterMs, jittered), Math.max(...schedule, jittered));
}

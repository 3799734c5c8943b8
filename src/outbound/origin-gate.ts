import type { Clock } from '../ids.js';

interface OriginState {
  /** Permits held; a released permit passes straight to the next waiter. */
  inUse: number;
  /** Start times of the attempts that hold a permit (are on the wire). */
  active: Set<{ since: number }>;
  /** Attempts waiting for a permit, first come first served. */
  waiting: (() => void)[];
}

/**
 * Per-origin concurrency, so one endpoint can neither take every connection nor hold every worker slot.
 * At most `permits` attempts to an origin are on the wire at once; the rest wait their turn here (their
 * deadline starts when they get a permit). An origin is congested when its oldest attempt on the wire has
 * run longer than `slowAfterMs` while `minActive` attempts are on the wire or others wait: a slow or hanging
 * endpoint. Attempts to a congested origin are deferred to the delivery queue instead of waiting inline. A
 * fast origin is never congested, however busy.
 */
export class OriginGate {
  private readonly origins = new Map<string, OriginState>();

  constructor(
    private readonly clock: Clock,
    private readonly permits = 32,
    private readonly slowAfterMs = 1000,
    private readonly minActive = 8,
  ) {}

  isCongested(origin: string): boolean {
    const state = this.origins.get(origin);
    if (!state || (state.active.size < this.minActive && state.waiting.length === 0)) return false;
    const now = this.clock();
    let oldest = now;
    for (const attempt of state.active) oldest = Math.min(oldest, attempt.since);
    return now - oldest > this.slowAfterMs;
  }

  /** Runs `attempt` once the origin has a free permit. */
  async track<T>(origin: string, attempt: () => Promise<T>): Promise<T> {
    const state = this.origins.get(origin) ?? { inUse: 0, active: new Set(), waiting: [] };
    this.origins.set(origin, state);
    if (state.inUse < this.permits) state.inUse += 1;
    else await new Promise<void>((resolve) => state.waiting.push(resolve));
    const entry = { since: this.clock() };
    state.active.add(entry);
    try {
      return await attempt();
    } finally {
      state.active.delete(entry);
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.inUse === 0) this.origins.delete(origin);
    }
  }
}

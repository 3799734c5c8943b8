import type { Clock } from '../ids.js';

/**
 * Per-origin in-flight bookkeeping, so one slow or hanging endpoint cannot hold every worker slot. An origin
 * is congested when it has `maxInFlight` attempts open and the oldest has run longer than `slowAfterMs`;
 * attempts to a congested origin are deferred to the delivery queue instead of waiting inline. A fast origin
 * is never deferred, however busy.
 */
export class OriginGate {
  private readonly open = new Map<string, Set<number>>();
  private next = 0;
  private readonly starts = new Map<number, number>();

  constructor(
    private readonly clock: Clock,
    private readonly maxInFlight = 8,
    private readonly slowAfterMs = 1000,
  ) {}

  isCongested(origin: string): boolean {
    const open = this.open.get(origin);
    if (!open || open.size < this.maxInFlight) return false;
    const now = this.clock();
    let oldest = now;
    for (const ticket of open) oldest = Math.min(oldest, this.starts.get(ticket) ?? now);
    return now - oldest > this.slowAfterMs;
  }

  inFlight(origin: string): number {
    return this.open.get(origin)?.size ?? 0;
  }

  /** Runs `attempt` counted against `origin`. */
  async track<T>(origin: string, attempt: () => Promise<T>): Promise<T> {
    const ticket = this.next++;
    const open = this.open.get(origin) ?? new Set<number>();
    open.add(ticket);
    this.open.set(origin, open);
    this.starts.set(ticket, this.clock());
    try {
      return await attempt();
    } finally {
      open.delete(ticket);
      this.starts.delete(ticket);
      if (open.size === 0) this.open.delete(origin);
    }
  }
}

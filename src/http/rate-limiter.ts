import type { Clock } from '../shared/ids.js';

/**
 * Per-principal token buckets, per instance. A burst of `capacity` requests is allowed, refilled evenly over
 * `windowMs`. Answers how long to wait when a request is refused.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Takes one token for `key`; answers 0 when allowed, or the milliseconds until a token is free. */
  take(key: string): number {
    if (this.capacity <= 0) return 0;
    const now = this.clock();
    const rate = this.capacity / this.windowMs;
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    if (this.buckets.size > 10_000) this.buckets.clear();
    return Math.ceil((1 - bucket.tokens) / rate);
  }
}

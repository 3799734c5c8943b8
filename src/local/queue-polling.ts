/** The host's QueuePollingIntervals.Minimum: the first wait after an empty poll, and the back-off's step. */
export const MIN_POLL_MS = 100;
const POLL_RANDOMIZATION = 0.2;

/**
 * The host's RandomizedExponentialBackoffStrategy: each empty poll waits 100 ms plus 100 ms × 2^(n-1) (±20%),
 * up to `maxPollingInterval`; a poll that found messages resets it, and the next poll follows at once.
 */
export class PollingBackoff {
  private current = 0;
  private exponent = 0;

  constructor(private readonly maxMs: number, private readonly random: () => number = Math.random) {}

  found(): void {
    this.current = MIN_POLL_MS;
    this.exponent = 1;
  }

  nextEmptyDelay(): number {
    if (this.current === this.maxMs) return this.current;
    let next = MIN_POLL_MS;
    if (this.exponent > 0) next += (1 - POLL_RANDOMIZATION + 2 * POLL_RANDOMIZATION * this.random()) * 2 ** (this.exponent - 1) * MIN_POLL_MS;
    if (next < this.maxMs) {
      this.current = next;
      this.exponent += 1;
    } else this.current = this.maxMs;
    return this.current;
  }
}

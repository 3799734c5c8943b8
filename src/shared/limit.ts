/**
 * Bounded concurrency. Fan-out and storage fallbacks work through these, so the requests, sockets and memory
 * in flight stay bounded whatever the number of events times webhooks.
 */
export class Semaphore {
  private free: number;
  private readonly waiting: { weight: number; grant: () => void }[] = [];

  constructor(readonly permits: number) {
    this.free = permits;
  }

  /**
   * Runs `work` holding `weight` permits (at most all of them), granted first come, first served: a heavy
   * waiter is never overtaken by lighter ones behind it. A weight that is no whole count (NaN, a fraction) is
   * rounded up to one that is: a NaN waiter would never be granted, and stall everyone behind it.
   */
  async run<T>(work: () => Promise<T>, weight = 1): Promise<T> {
    const held = Math.min(Math.max(1, Math.ceil(weight) || 1), this.permits);
    if (this.waiting.length === 0 && this.free >= held) this.free -= held;
    else await new Promise<void>((grant) => this.waiting.push({ weight: held, grant }));
    try {
      return await work();
    } finally {
      this.free += held;
      for (let next = this.waiting[0]; next && this.free >= next.weight; next = this.waiting[0]) {
        this.waiting.shift();
        this.free -= next.weight;
        next.grant();
      }
    }
  }
}

/** Maps items with at most `limit` calls in flight; answers in order. The first failure rejects, after the rest settle. */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, map: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await map(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

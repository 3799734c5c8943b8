import type { Metrics } from '../telemetry/metrics.js';

/** A queue whose length can be read (the approximate count Storage keeps). */
export interface CountableQueue {
  name: string;
  length(): Promise<number>;
}

/**
 * Reports each poison queue's length as a gauge. The host moves a message to a poison queue without calling
 * the app, so this is how an alert learns of it.
 */
export async function measurePoisonQueues(queues: readonly CountableQueue[], metrics: Metrics): Promise<Record<string, number>> {
  const lengths = await Promise.all(queues.map(async (queue) => [queue.name, await queue.length()] as const));
  for (const [name, length] of lengths) metrics.poisonQueueLength(name, length);
  return Object.fromEntries(lengths);
}

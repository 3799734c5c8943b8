import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { MessageQueue, QUEUES } from './queues.js';

/** A queue the app reads, by its name. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** What one message of each queue is called in the log line of its poisoning. */
const MESSAGE_NAMES: Record<QueueName, string> = { 'registry-events': 'registry event', 'webhook-deliveries': 'delivery message', 'azureml-events': 'azureml event' };

/** Where `poisonMessage` moves a message: the poison queue of the queue it came from. */
export interface PoisonTarget {
  from: QueueName;
  poison: MessageQueue;
}

/**
 * The one way the app poisons a message it will never be able to work: logs why, moves its text as it is to
 * `<queue>-poison` and counts it. A failed move is thrown with the reason, so the host retries the message.
 */
export async function poisonMessage(deps: { log: Logger; metrics?: Pick<Metrics, 'messagePoisoned'> | undefined }, target: PoisonTarget, text: string, reason: string): Promise<void> {
  deps.log.error(`${MESSAGE_NAMES[target.from]} moved to the poison queue: ${reason}`);
  try {
    await target.poison.sendText(text);
  } catch (error) {
    throw new Error(`could not poison an unreadable ${target.from} message (${reason}): ${errorMessage(error)}`, { cause: error });
  }
  deps.metrics?.messagePoisoned(target.from);
}

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

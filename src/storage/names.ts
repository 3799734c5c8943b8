import { poisonQueueOf, QUEUES } from '../pipeline/queues.js';

/**
 * Every table and queue the app uses. The infra consistency test checks each one is provisioned, so a name
 * added here and forgotten in `infra/` fails CI.
 */
export const TABLES = {
  webhooks: 'webhooks',
  webhookIds: 'webhookids',
  deliveries: 'deliveries',
  audit: 'audit',
  eventClaims: 'eventclaims',
  /** Which webhooks have delivery records of which UTC day: what retention reads instead of a whole table. */
  deliveryDays: 'deliverydays',
  /** One row per rate-limited webhook: the time its next send slot is free, shared by every instance. */
  rateSlots: 'rateslots',
} as const;

export const ALL_QUEUES: readonly string[] = Object.values(QUEUES).flatMap((queue) => [queue, poisonQueueOf(queue)]);
export const ALL_TABLES: readonly string[] = Object.values(TABLES);

import type { TimerHandler } from '@azure/functions';
import { loggerOf } from '../telemetry/logger.js';
import { measurePoisonQueues } from '../pipeline/poison-queues.js';
import { runRetention } from '../pipeline/retention.js';
import type { ServicesProvider } from './http-endpoint.js';

/** The retention timer. A run the host started late (`isPastDue`) runs as usual: the work is the same. */
export const retentionHandler =
  (services: ServicesProvider): TimerHandler =>
  async (timer, context) => {
    const log = loggerOf(context);
    if (timer.isPastDue) log.info('retention: this run is late (the schedule was missed, for example while the app was stopped)');
    const app = await services();
    await runRetention({ ...app.retention, log });
  };

/** Peeks each poison queue's length and reports it as a gauge, for the poison-queue alert. */
export const poisonQueuesHandler =
  (services: ServicesProvider): TimerHandler =>
  async (_timer, context) => {
    const app = await services();
    const lengths = await measurePoisonQueues(app.poisonQueues, app.metrics);
    const full = Object.entries(lengths).filter(([, length]) => length > 0);
    if (full.length > 0) loggerOf(context).warn(`poison queues hold messages: ${full.map(([name, length]) => `${name}: ${length}`).join(', ')}`);
  };

import { SeverityNumber, type Logger as OtelLogger } from '@opentelemetry/api-logs';
import type { Attributes, Meter } from '@opentelemetry/api';

/** Every instrument's name in Application Insights; the infra consistency test holds `infra/`'s queries to this list. */
export const METRIC_NAMES = {
  deliveries: 'webhooks.deliveries',
  deliveryFailures: 'webhooks.delivery_failures',
  attemptDuration: 'webhooks.attempt.duration',
  eventLag: 'webhooks.event.lag',
  eventsPublished: 'webhooks.events.published',
  eventsIgnored: 'webhooks.events.ignored',
  messagesPoisoned: 'webhooks.messages.poisoned',
  poisonQueueLength: 'webhooks.poison_queue.length',
  autoDisabled: 'webhooks.auto_disabled',
  unreadable: 'webhooks.unreadable',
  circuitsOpened: 'webhooks.circuits.opened',
} as const;

/** The attribute of the per-event lag sample that KQL `percentile()` reads. */
export const LAG_SAMPLE_ATTRIBUTE = 'webhooks.event.lag_ms';

/** How one attempt (or a first delivery that was not attempted) ended. */
export type DeliveryOutcome = 'succeeded' | 'retrying' | 'failed' | 'skipped' | 'deferred';
export type TargetKind = 'http' | 'job';

/**
 * The metrics port: what the core reports. The app passes the OpenTelemetry implementation, tests and
 * tools the no-op one (or the OpenTelemetry one over an in-memory reader).
 */
export interface Metrics {
  /** One attempt's outcome. Failures are also counted per webhook, successes not, to keep the series few. */
  delivery(outcome: DeliveryOutcome, targetKind: TargetKind, event: string, webhookId: string): void;
  attemptDuration(ms: number, targetKind: TargetKind, outcome: DeliveryOutcome): void;
  /** From the event's publication to its first successful delivery to one webhook. */
  eventLag(ms: number, event: string): void;
  eventsPublished(count: number, source: string): void;
  eventsIgnored(count: number, source: string, reason: string): void;
  messagePoisoned(queue: string): void;
  webhookAutoDisabled(): void;
  webhookUnreadable(count?: number): void;
  /** The last peeked length of each poison queue, reported as a gauge. */
  poisonQueueLength(queue: string, length: number): void;
  /** An origin's circuit breaker opened (or reopened after a failed probe). */
  circuitOpened(): void;
}

export const noopMetrics: Metrics = {
  delivery: () => undefined,
  attemptDuration: () => undefined,
  eventLag: () => undefined,
  eventsPublished: () => undefined,
  eventsIgnored: () => undefined,
  messagePoisoned: () => undefined,
  webhookAutoDisabled: () => undefined,
  webhookUnreadable: () => undefined,
  poisonQueueLength: () => undefined,
  circuitOpened: () => undefined,
};

/** Metrics on `meter`; each event's lag is also one log on `sampleLog`, as histograms reach KQL without percentiles. */
export function openTelemetryMetrics(meter: Meter, sampleLog?: OtelLogger): Metrics {
  const deliveries = meter.createCounter(METRIC_NAMES.deliveries, { description: 'Delivery attempts by outcome, target kind and event' });
  const failures = meter.createCounter(METRIC_NAMES.deliveryFailures, { description: 'Attempts that did not succeed, by webhook' });
  const duration = meter.createHistogram(METRIC_NAMES.attemptDuration, { description: 'Duration of one delivery attempt', unit: 'ms' });
  const lag = meter.createHistogram(METRIC_NAMES.eventLag, { description: 'From publication to the first successful delivery', unit: 'ms' });
  const published = meter.createCounter(METRIC_NAMES.eventsPublished, { description: 'Events accepted, by source' });
  const ignored = meter.createCounter(METRIC_NAMES.eventsIgnored, { description: 'Events ignored, by source and reason' });
  const poisoned = meter.createCounter(METRIC_NAMES.messagesPoisoned, { description: 'Messages the app moved to a poison queue' });
  const autoDisabled = meter.createCounter(METRIC_NAMES.autoDisabled, { description: 'Webhooks disabled by the service after failing for too long' });
  const unreadable = meter.createCounter(METRIC_NAMES.unreadable, { description: 'Stored webhooks that could not be read' });
  const circuitsOpened = meter.createCounter(METRIC_NAMES.circuitsOpened, { description: 'Circuits opened: an origin\'s after repeated failures to connect, an endpoint\'s after repeated timeouts' });
  const poisonLengths = new Map<string, number>();
  meter
    .createObservableGauge(METRIC_NAMES.poisonQueueLength, { description: 'Messages in each poison queue, as last peeked' })
    .addCallback((result) => {
      for (const [queue, length] of poisonLengths) result.observe(length, { queue });
    });
  return {
    delivery: (outcome, targetKind, event, webhookId) => {
      deliveries.add(1, { outcome, target_kind: targetKind, event });
      if (outcome === 'retrying' || outcome === 'failed') failures.add(1, { webhook_id: webhookId, outcome });
    },
    attemptDuration: (ms, targetKind, outcome) => duration.record(ms, { target_kind: targetKind, outcome }),
    eventLag: (ms, event) => {
      const attributes: Attributes = { event };
      lag.record(ms, attributes);
      sampleLog?.emit({ body: METRIC_NAMES.eventLag, severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes: { ...attributes, [LAG_SAMPLE_ATTRIBUTE]: ms } });
    },
    eventsPublished: (count, source) => published.add(count, { source }),
    eventsIgnored: (count, source, reason) => ignored.add(count, { source, reason }),
    messagePoisoned: (queue) => poisoned.add(1, { queue }),
    webhookAutoDisabled: () => autoDisabled.add(1),
    webhookUnreadable: (count = 1) => unreadable.add(count),
    poisonQueueLength: (queue, length) => {
      poisonLengths.set(queue, length);
    },
    circuitOpened: () => circuitsOpened.add(1),
  };
}

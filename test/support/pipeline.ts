import type { AttemptResult } from '../../src/outbound/classify-outcome.js';
import { classifyAttempt } from '../../src/outbound/classify-outcome.js';
import type { FanOutDeps } from '../../src/pipeline/fan-out.js';
import { OriginGate, type Destination } from '../../src/outbound/origin-gate.js';
import { SubscriberLookup } from '../../src/pipeline/subscriber-lookup.js';
import { TargetSenders, type TargetSender } from '../../src/outbound/target-sender.js';
import { Semaphore } from '../../src/shared/limit.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { destinationOfUrl, type Webhook } from '../../src/webhooks/webhook.js';
import { ManualClock, MemoryAuditLog, MemoryDeliveryStore, MemoryEventClaims, MemoryQueue, MemoryWebhookStore } from './memory.js';

export interface SentAttempt {
  webhookId: string;
  payload: string;
  messageId: string;
  idempotencyToken?: string;
}

/** A sender that records what it was asked to send and answers from a script per webhook. */
export class ScriptedSender implements TargetSender {
  readonly sent: SentAttempt[] = [];
  private readonly scripts = new Map<string, AttemptResult[]>();

  answer(webhookId: string, ...results: AttemptResult[]): void {
    this.scripts.set(webhookId, results);
  }

  readonly limits: (number | undefined)[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  /** Resolves once `count` attempts in all have been handed to the sender (a deferred, not a timer). */
  sends(count: number): Promise<void> {
    if (this.sent.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  send(webhook: Webhook, payload: string, messageId: string, maxResponseBytes?: number, idempotencyToken?: string): Promise<AttemptResult> {
    this.sent.push({ webhookId: webhook.id, payload, messageId, ...(idempotencyToken !== undefined ? { idempotencyToken } : {}) });
    this.limits.push(maxResponseBytes);
    for (const waiter of this.waiters.filter((each) => each.count <= this.sent.length)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const script = this.scripts.get(webhook.id) ?? [];
    return Promise.resolve(script.length > 1 ? (script.shift() as AttemptResult) : (script[0] ?? { kind: 'response', status: 200, body: 'OK' }));
  }

  classify(result: AttemptResult) {
    return classifyAttempt(result);
  }

  destinationOf(webhook: Webhook): Destination {
    return webhook.target.kind === 'http' ? destinationOfUrl(webhook.target.url) : { origin: 'job', endpoint: 'job' };
  }
}

export function pipelineDeps(schedule = [0, 1000, 2000]) {
  const clock = new ManualClock();
  const webhooks = new MemoryWebhookStore();
  const deliveries = new MemoryDeliveryStore();
  const audit = new MemoryAuditLog();
  const deliveryQueue = new MemoryQueue();
  const poison = new MemoryQueue();
  const eventQueue = new MemoryQueue();
  const claims = new MemoryEventClaims();
  const sender = new ScriptedSender();
  const gate = new OriginGate(clock.read, { maxConcurrency: 32, pause: () => Promise.resolve() });
  const deps: FanOutDeps = {
    webhooks,
    deliveries,
    audit,
    deliveryQueue,
    senders: new TargetSenders({ http: sender, job: sender }),
    gate,
    clock: clock.read,
    random: () => 0.5,
    retryScheduleMs: schedule,
    claimLeaseMs: 60_000,
    firstAttemptSlots: new Semaphore(256),
    log: silentLogger,
    claims,
    subscribers: new SubscriberLookup(webhooks, clock.read),
    poison,
    eventQueue,
  };
  return { deps, clock, webhooks, deliveries, audit, deliveryQueue, poison, eventQueue, sender, gate, claims };
}

let counter = 0;
export function makeWebhook(overrides: Partial<Webhook> = {}): Webhook {
  counter += 1;
  return {
    id: counter.toString(16).padStart(32, 'a'),
    modelName: 'M',
    events: ['MODEL_VERSION_CREATED'],
    status: 'ACTIVE',
    target: { kind: 'http', url: `https://receiver-${counter}.example/hook`, enableSslVerification: true },
    creationTimestamp: 0,
    lastUpdatedTimestamp: 0,
    ...overrides,
  };
}

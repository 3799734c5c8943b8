import { randomUUID } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { onEnqueued } from '../storage/enqueue-signal.js';
import type { QueueHostSettings } from './host-json.js';
import { PollingBackoff } from './queue-polling.js';
import type { HostLog } from './http-host.js';
import type { RegisteredFunction, RpcTypedData } from './worker-core.js';
import { errorMessage } from '../shared/errors.js';

/** The host receives with a 10-minute visibility (its lease) and renews it while the function runs. */
export const HOST_LEASE_MS = 10 * 60_000;
export interface QueueListenerOptions {
  /** The queue lease; the host's is 10 minutes. Shorter only for tests of crashes. */
  leaseMs?: number;
  /**
   * Wake at once when this process enqueues with the Storage SDK. The host does not (only its own output
   * bindings notify its listener, and on Flex Consumption HTTP and queue functions run on different
   * instances), so this is a development shortcut, off by default.
   */
  wakeOnEnqueue?: boolean;
  /** How the listener waits between polls; tests hold it to see what wakes the listener. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const timerSleep = (ms: number, signal: AbortSignal): Promise<void> => wait(ms, undefined, { signal }).catch(() => undefined);

const isStrictBase64 = (text: string): boolean => /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;

/** How long the host keeps a poison copy: the queue's default time-to-live, 7 days. */
export const POISON_TTL_SECONDS = 7 * 24 * 3600;

/** The queue functions among those the app registered, with the queue each listens on. */
export function queueFunctionsOf(functions: readonly RegisteredFunction[]): { fn: RegisteredFunction; queueName: string }[] {
  return functions.flatMap((fn) => {
    const { binding } = fn.trigger;
    return binding.type === 'queueTrigger' && binding.queueName ? [{ fn, queueName: binding.queueName }] : [];
  });
}

const json = (value: unknown): RpcTypedData => ({ json: JSON.stringify(value) });

/**
 * A queue message's trigger metadata as the host sends it: the binding data with a JSON message's top-level keys
 * merged over them case-insensitively, then converted by @azure/functions as in Azure.
 */
export function queueTriggerMetadata(message: DequeuedMessageItem, text: string, functionName: string): Record<string, RpcTypedData> {
  const metadata = new Map<string, RpcTypedData>(Object.entries({
    QueueTrigger: { string: text },
    DequeueCount: { int: message.dequeueCount },
    ExpirationTime: json(message.expiresOn.toISOString()),
    Id: { string: message.messageId },
    InsertionTime: json(message.insertedOn.toISOString()),
    NextVisibleTime: json(message.nextVisibleOn.toISOString()),
    PopReceipt: { string: message.popReceipt },
    sys: json({ MethodName: functionName, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }),
  }));
  const result = () => Object.fromEntries(metadata);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    return result();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return result();
  for (const [key, value] of Object.entries(parsed)) {
    for (const existing of [...metadata.keys()]) if (existing.toLowerCase() === key.toLowerCase()) metadata.delete(existing);
    metadata.set(key, json(value));
  }
  return result();
}

/**
 * A queue trigger as the host runs it (batches, the host's randomized back-off up to `maxPollingInterval`, base64,
 * lease renewal, retry after `visibilityTimeout`, `<queue>-poison` at `maxDequeueCount`); settings from host.json.
 */
export class QueueListener {
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly fn: RegisteredFunction,
    private readonly queueName: string,
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
    private readonly settings: QueueHostSettings,
    private readonly log: HostLog,
    private readonly options: QueueListenerOptions = {},
  ) {}

  private get leaseMs(): number {
    return this.options.leaseMs ?? HOST_LEASE_MS;
  }

  start(): void {
    this.running = true;
    if (this.options.wakeOnEnqueue) {
      this.unsubscribe = onEnqueued((queue, delayMs) => {
        if (queue !== this.queueName) return;
        if (delayMs <= 0) this.wakeUp?.();
        else setTimeout(() => this.wakeUp?.(), delayMs + 50).unref();
      });
    }
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.unsubscribe?.();
    this.wakeUp?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async poll(): Promise<void> {
    const backoff = new PollingBackoff(this.settings.maxPollingIntervalMs);
    const sleep = this.options.sleep ?? timerSleep;
    while (this.running) {
      if (this.inFlight.size > this.settings.newBatchThreshold) {
        await Promise.race(this.inFlight);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const received = await this.queue.receiveMessages({
          numberOfMessages: this.settings.batchSize,
          visibilityTimeout: Math.ceil(this.leaseMs / 1000),
          abortSignal: this.stopping.signal,
        });
        messages = received.receivedMessageItems;
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        this.log('warning', this.fn.name, `receiving from ${this.queueName} failed: ${errorMessage(error)}`);
      }
      if (messages.length > 0) {
        backoff.found();
        for (const message of messages) {
          const work = this.process(message).finally(() => this.inFlight.delete(work));
          this.inFlight.add(work);
        }
        continue;
      }
      const delay = backoff.nextEmptyDelay();
      await new Promise<void>((resolve) => {
        this.wakeUp = () => {
          backoff.found();
          resolve();
        };
        void sleep(delay, this.stopping.signal).then(resolve);
      });
      this.wakeUp = undefined;
    }
  }

  private async process(message: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, visibilityTimeoutMs, messageEncoding } = this.settings;
    let popReceipt = message.popReceipt;
    try {
      if (messageEncoding === 'base64' && !isStrictBase64(message.messageText)) {
        this.log('warning', this.fn.name, `Message decoding has failed! Check MessageEncoding settings. MessageId=${message.messageId}.`);
        await this.moveToPoison(message, popReceipt);
        return;
      }
      if (message.dequeueCount > maxDequeueCount) {
        await this.moveToPoison(message, popReceipt);
        return;
      }
      const text = messageEncoding === 'base64' ? Buffer.from(message.messageText, 'base64').toString('utf8') : message.messageText;
      const invocationId = randomUUID();
      // Each renewal answers a new pop receipt and voids the old one. Renewals run one at a time, and the
      // message is completed only after the last one has answered, with the receipt it answered.
      let renewal: Promise<void> = Promise.resolve();
      const renew = setInterval(() => {
        renewal = renewal.then(() =>
          this.queue.updateMessage(message.messageId, popReceipt, undefined, Math.ceil(this.leaseMs / 1000)).then(
            (updated) => {
              popReceipt = updated.popReceipt ?? popReceipt;
            },
            () => undefined,
          ),
        );
      }, this.leaseMs / 2);
      let failed = false;
      try {
        // The host hands the message over as a string, which the library JSON-parses if it is any JSON value
        // (42, "x", {...}); or, for a binding with dataType binary, as bytes, which it hands on as a Buffer.
        const data = this.fn.trigger.binding.dataType === 'binary' ? { bytes: Buffer.from(text, 'utf8') } : { string: text };
        await this.fn.invoke(invocationId, data, queueTriggerMetadata(message, text, this.fn.name), (level, _category, line) =>
          this.log(level, this.fn.name, line),
        );
      } catch (error) {
        failed = true;
        this.log('error', this.fn.name, `Executed '${this.fn.name}' (Failed, Id=${invocationId}): ${errorMessage(error)}`);
      } finally {
        clearInterval(renew);
        await renewal;
      }
      if (!failed) await this.queue.deleteMessage(message.messageId, popReceipt);
      else if (message.dequeueCount >= maxDequeueCount) await this.moveToPoison(message, popReceipt);
      else await this.queue.updateMessage(message.messageId, popReceipt, undefined, Math.ceil(visibilityTimeoutMs / 1000));
    } catch (error) {
      // Storage itself failed: the lease runs out and the message comes back, as with the real host.
      this.log('warning', this.fn.name, `completing message ${message.messageId} failed: ${errorMessage(error)}`);
    }
  }

  private async moveToPoison(message: DequeuedMessageItem, popReceipt: string): Promise<void> {
    this.log('warning', this.fn.name, `Message has reached MaxDequeueCount of ${this.settings.maxDequeueCount}. Moving message to queue '${this.poison.name}'.`);
    await this.poison.createIfNotExists();
    await this.poison.sendMessage(message.messageText, { messageTimeToLive: POISON_TTL_SECONDS });
    await this.queue.deleteMessage(message.messageId, popReceipt);
  }
}

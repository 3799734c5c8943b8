import type { Webhook } from '../webhooks/webhook.js';
import type { AttemptResult, Outcome } from './classify-outcome.js';
import { classifyAttempt } from './classify-outcome.js';
import type { OutboundClient } from './http-client.js';
import { redactSecrets } from './redact.js';
import { deliveryHeaders } from './sign-payload.js';
import type { Destination } from './origin-gate.js';

/**
 * How much of a target's answer a delivery reads: enough for the delivery log's excerpt. The test call, which
 * answers the body, reads up to the client's limit (1 MiB).
 */
export const DELIVERY_RESPONSE_BYTES = 16 * 1024;

/** One kind of target: how to send a payload to it, and what its answer means. */
export interface TargetSender {
  /**
   * `messageId` is the delivery id (`webhook-id`); `idempotencyToken`, for targets that start something (job
   * runs), is the same on every retry of one delivery, so a retry after a timeout starts nothing twice.
   */
  send(webhook: Webhook, payload: string, messageId: string, maxResponseBytes?: number, idempotencyToken?: string): Promise<AttemptResult>;
  classify(result: AttemptResult): Outcome;
  /** Where the attempt goes, for the origin gate's bookkeeping. */
  destinationOf(webhook: Webhook): Destination;
}

/** HTTP targets: a signed POST of the payload. */
export class HttpTargetSender implements TargetSender {
  constructor(
    private readonly client: OutboundClient,
    private readonly now: () => number,
  ) {}

  send(webhook: Webhook, payload: string, messageId: string, maxResponseBytes?: number): Promise<AttemptResult> {
    const { target } = webhook;
    if (target.kind !== 'http') throw new Error('HttpTargetSender needs an HTTP target');
    return this.client.send({
      ...(maxResponseBytes !== undefined ? { maxResponseBytes } : {}),
      redact: (text) => redactSecrets(text, target),
      url: target.url,
      method: 'POST',
      headers: deliveryHeaders({
        body: payload,
        messageId,
        timestampSeconds: Math.floor(this.now() / 1000),
        secret: target.secret,
        authorization: target.authorization,
      }),
      body: payload,
      verifyTls: target.enableSslVerification,
    });
  }

  classify(result: AttemptResult): Outcome {
    return classifyAttempt(result);
  }

  destinationOf(webhook: Webhook): Destination {
    return destinationOfUrl(webhook.target.kind === 'http' ? webhook.target.url : '');
  }
}

/** The URL's origin, and the URL without its query (or fragment) as its endpoint. */
export const destinationOfUrl = (url: string): Destination => {
  if (!URL.canParse(url)) return { origin: url, endpoint: url };
  const { origin, pathname } = new URL(url);
  return { origin, endpoint: `${origin}${pathname}` };
};

/** Picks the sender for a webhook's target kind. */
export class TargetSenders {
  constructor(private readonly senders: { http: TargetSender; job: TargetSender }) {}

  for(webhook: Webhook): TargetSender {
    return this.senders[webhook.target.kind];
  }
}

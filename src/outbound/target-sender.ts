import type { Webhook } from '../webhooks/webhook.js';
import type { AttemptResult, Outcome } from './classify-outcome.js';
import { classifyAttempt } from './classify-outcome.js';
import type { OutboundClient } from './http-client.js';
import { isAzureDevOpsSignInPage, renderBody } from './payload-format.js';
import { redactSecrets } from './redact.js';
import { deliveryHeaders } from './sign-payload.js';

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
  classify(result: AttemptResult, webhook: Webhook): Outcome;
  /** Where the attempt goes, for per-origin bookkeeping. */
  originOf(webhook: Webhook): string;
}

/** HTTP targets: a signed POST of the payload. */
export class HttpTargetSender implements TargetSender {
  constructor(
    private readonly client: OutboundClient,
    private readonly now: () => number,
  ) {}

  /** The payload goes out in the webhook's format (docs/routing.md), signed as sent. */
  send(webhook: Webhook, payload: string, messageId: string, maxResponseBytes?: number): Promise<AttemptResult> {
    const { target } = webhook;
    if (target.kind !== 'http') throw new Error('HttpTargetSender needs an HTTP target');
    const rendered = renderBody(target.format, payload, messageId);
    return this.client.send({
      ...(maxResponseBytes !== undefined ? { maxResponseBytes } : {}),
      redact: (text) => redactSecrets(text, target),
      url: target.url,
      method: 'POST',
      headers: {
        ...deliveryHeaders({
          body: rendered.body,
          messageId,
          timestampSeconds: Math.floor(this.now() / 1000),
          secret: target.secret,
          authorization: target.authorization,
        }),
        ...rendered.headers,
      },
      body: rendered.body,
      verifyTls: target.enableSslVerification,
    });
  }

  classify(result: AttemptResult, webhook: Webhook): Outcome {
    if (result.kind === 'response' && webhook.target.kind === 'http' && isAzureDevOpsSignInPage(webhook.target.format, result.status)) {
      return { kind: 'permanent', reason: 'HTTP 203: Azure DevOps answered its sign-in page, so no run was started: the token is missing, expired or not allowed to run the pipeline', disableWebhook: false };
    }
    return classifyAttempt(result);
  }

  originOf(webhook: Webhook): string {
    return webhook.target.kind === 'http' ? originOrRaw(webhook.target.url) : '';
  }
}

export const originOrRaw = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
};

/** Picks the sender for a webhook's target kind. */
export class TargetSenders {
  constructor(private readonly senders: { http: TargetSender; job: TargetSender }) {}

  for(webhook: Webhook): TargetSender {
    return this.senders[webhook.target.kind];
  }
}

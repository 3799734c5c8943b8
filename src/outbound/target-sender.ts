import { destinationOfUrl, type HttpTarget, type OAuth2Client, type Webhook } from '../webhooks/webhook.js';
import type { AttemptResult, Outcome } from './classify-outcome.js';
import { classifyAttempt } from './classify-outcome.js';
import type { OutboundClient } from './http-client.js';
import { isAzureDevOpsSignInPage, renderBody, type RenderedBody } from './payload-format.js';
import type { TokenAnswer } from './token-cache.js';
import { redactSecrets } from './redact.js';
import { deliveryHeaders } from './sign-payload.js';
import type { Destination } from './origin-gate.js';
import { definedOnly } from '../shared/defined.js';

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
  /** Where the attempt goes, for the origin gate's bookkeeping. */
  destinationOf(webhook: Webhook): Destination;
}

/** Where bearer tokens come from: a webhook's OAuth2 client, or the delivery identity for an Entra audience. */
export interface BearerSources {
  oauth2: { tokenFor(webhookId: string, oauth2: OAuth2Client, refused?: string): Promise<TokenAnswer> };
  /** `origin` is where the token would be sent: an audience's tokens go only to the origins listed for it. */
  entra: { tokenFor(audience: string, origin: string): Promise<TokenAnswer> };
}

/** HTTP targets: a signed POST of the payload in the webhook's format, with its credential. */
export class HttpTargetSender implements TargetSender {
  constructor(
    private readonly client: OutboundClient,
    private readonly now: () => number,
    private readonly bearers?: BearerSources,
  ) {}

  /** An OAuth2 token the target refuses (401) is fetched again, once, and the attempt made again with it. */
  async send(webhook: Webhook, payload: string, messageId: string, maxResponseBytes?: number): Promise<AttemptResult> {
    const { target } = webhook;
    if (target.kind !== 'http') throw new Error('HttpTargetSender needs an HTTP target');
    const rendered = renderBody(target.format, payload, messageId);
    const first = await this.sendWith(webhook.id, target, rendered, messageId, maxResponseBytes);
    if (target.oauth2 && first.result.kind === 'response' && first.result.status === 401 && first.token !== undefined) {
      return (await this.sendWith(webhook.id, target, rendered, messageId, maxResponseBytes, first.token)).result;
    }
    return first.result;
  }

  /** The attempt's result, and the bearer token it carried (if any). */
  private async sendWith(
    webhookId: string,
    target: HttpTarget,
    rendered: RenderedBody,
    messageId: string,
    maxResponseBytes: number | undefined,
    refused?: string,
  ): Promise<{ result: AttemptResult; token?: string }> {
    const bearer = await this.bearerFor(webhookId, target, refused);
    if (bearer?.kind === 'error') return { result: { kind: 'error', error: bearer.error, retryable: bearer.retryable } };
    const authorization = bearer ? `Bearer ${bearer.token}` : target.authorization;
    // The token is cut out of the answer as the stored authorization is.
    const redactable: HttpTarget = { ...target, ...definedOnly({ authorization }) };
    const result = await this.client.send({
      ...definedOnly({ maxResponseBytes }),
      redact: (text) => redactSecrets(text, redactable),
      url: target.url,
      method: 'POST',
      headers: {
        ...deliveryHeaders({ body: rendered.body, messageId, timestampSeconds: Math.floor(this.now() / 1000), secret: target.secret, authorization }),
        ...rendered.headers,
      },
      body: rendered.body,
      verifyTls: target.enableSslVerification,
    });
    return { result, ...(bearer ? { token: bearer.token } : {}) };
  }

  private bearerFor(webhookId: string, target: HttpTarget, refused: string | undefined): Promise<TokenAnswer> | undefined {
    if (target.oauth2) return this.bearers ? this.bearers.oauth2.tokenFor(webhookId, target.oauth2, refused) : noSource('OAuth2');
    if (target.azureAdAudience !== undefined) return this.bearers ? this.bearers.entra.tokenFor(target.azureAdAudience, destinationOfUrl(target.url).origin) : noSource('Entra');
    return undefined;
  }

  classify(result: AttemptResult, webhook: Webhook): Outcome {
    if (result.kind === 'response' && webhook.target.kind === 'http' && isAzureDevOpsSignInPage(webhook.target.format, result.status)) {
      return { kind: 'permanent', reason: 'HTTP 203: Azure DevOps answered its sign-in page, so no run was started: the token is missing, expired or not allowed to run the pipeline', disableWebhook: false };
    }
    return classifyAttempt(result);
  }

  destinationOf(webhook: Webhook): Destination {
    return destinationOfUrl(webhook.target.kind === 'http' ? webhook.target.url : '');
  }
}

const noSource = (kind: string): Promise<TokenAnswer> => Promise.resolve({ kind: 'error', error: `no ${kind} token source is configured`, retryable: false });

/** Picks the sender for a webhook's target kind. */
export class TargetSenders {
  constructor(private readonly senders: { http: TargetSender; job: TargetSender }) {}

  for(webhook: Webhook): TargetSender {
    return this.senders[webhook.target.kind];
  }
}

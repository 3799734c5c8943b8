import { sha256Hex, type Clock } from '../shared/ids.js';
import type { OAuth2Client } from '../webhooks/webhook.js';
import type { OutboundClient } from './http-client.js';
import { redactSecrets } from './redact.js';
import { TokenCache, type TokenAnswer } from './token-cache.js';

/** A token may travel only as a header value: visible ASCII. */
const HEADER_SAFE = /^[\x21-\x7e]{1,8192}$/;
/** When a token server says nothing of the lifetime (`expires_in` is only recommended), the token is kept this long. */
const DEFAULT_LIFETIME_S = 300;

const cut = (value: unknown): string => (typeof value === 'string' ? value.slice(0, 200) : '');

/**
 * OAuth 2.0 client-credentials tokens (RFC 6749, 4.4): a form-encoded POST with the client secret in the body,
 * through the guarded client (the token URL is held to the same policy as targets). Cached per webhook and
 * credentials, so a changed secret or URL never reuses a token.
 */
export class OAuth2Tokens {
  private readonly cache: TokenCache;

  constructor(
    private readonly client: OutboundClient,
    private readonly clock: Clock,
  ) {
    this.cache = new TokenCache(clock);
  }

  tokenFor(webhookId: string, oauth2: OAuth2Client, fresh = false): Promise<TokenAnswer> {
    const key = sha256Hex(webhookId, oauth2.tokenUrl, oauth2.clientId, oauth2.clientSecret, oauth2.scope ?? '');
    return this.cache.get(key, () => this.fetch(oauth2), fresh);
  }

  private async fetch(oauth2: OAuth2Client): Promise<TokenAnswer & { expiresAt?: number }> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: oauth2.clientId, client_secret: oauth2.clientSecret });
    if (oauth2.scope !== undefined) form.set('scope', oauth2.scope);
    const answer = await this.client.send({
      url: oauth2.tokenUrl,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      verifyTls: true,
      maxResponseBytes: 64 * 1024,
      redact: (text) => redactSecrets(text, { kind: 'http', url: oauth2.tokenUrl, enableSslVerification: true, secret: oauth2.clientSecret }),
    });
    if (answer.kind === 'error') return { kind: 'error', error: `token request to ${new URL(oauth2.tokenUrl).origin} failed: ${answer.error}`, retryable: answer.retryable };
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      // described below by what is missing
    }
    if (answer.status < 200 || answer.status >= 300) {
      const why = [cut(body.error), cut(body.error_description)].filter(Boolean).join(': ') || `HTTP ${answer.status}`;
      // A refused client (400 invalid_client, 401) stays refused until someone fixes the credentials.
      return { kind: 'error', error: `the token server refused the client credentials (HTTP ${answer.status}): ${why}`, retryable: answer.status >= 500 || answer.status === 429 };
    }
    const token = body.access_token;
    if (typeof token !== 'string' || !HEADER_SAFE.test(token)) return { kind: 'error', error: 'the token server answered no usable access_token', retryable: true };
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      return { kind: 'error', error: `the token server answered a token of type ${cut(body.token_type)}, not Bearer`, retryable: false };
    }
    const lifetime = Number(body.expires_in ?? DEFAULT_LIFETIME_S);
    return { kind: 'token', token, expiresAt: this.clock() + (Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S) * 1000 };
  }
}

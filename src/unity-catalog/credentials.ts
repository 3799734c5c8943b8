import type { TokenCredential } from '@azure/identity';
import type { OutboundClient } from '../outbound/http-client.js';
import { USER_AGENT } from '../outbound/sign-payload.js';
import type { Clock } from '../shared/ids.js';
import { AZURE_DATABRICKS_RESOURCE, UNITY_CATALOG_SETTINGS, type UnityCatalogCredential } from './settings.js';

export type FailureKind = 'denied' | 'missing' | 'malformed' | 'throttled' | 'unavailable';

/**
 * Why the API could not be asked. A failure of the whole source (credentials, 429, 5xx, network) ends the run; any
 * other concerns one selector or model, and the run goes on.
 */
export class UnityCatalogFailure extends Error {
  readonly wholeSource: boolean;

  constructor(
    readonly kind: FailureKind,
    message: string,
    options: { wholeSource?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'UnityCatalogFailure';
    this.wholeSource = options.wholeSource ?? (kind === 'throttled' || kind === 'unavailable');
    this.retryAfterMs = options.retryAfterMs;
  }

  readonly retryAfterMs: number | undefined;
}

/** A bearer token for the workspace; `refresh` drops a cached one the API refused. */
export interface TokenSource {
  token(refresh?: boolean): Promise<string>;
}

/** Tokens are renewed this long before they expire. */
const EXPIRY_MARGIN_MS = 60_000;

/** Databricks OAuth machine-to-machine: client credentials at `{workspace}/oidc/v1/token`, scope `all-apis`. */
class OAuthTokenSource implements TokenSource {
  private cached: { token: string; expiresAt: number } | undefined;

  constructor(
    private readonly client: OutboundClient,
    private readonly workspaceUrl: string,
    private readonly credential: { clientId: string; clientSecret: string },
    private readonly clock: Clock,
  ) {}

  private pending: Promise<string> | undefined;

  /** One token request at a time: models read together share it. */
  token(refresh = false): Promise<string> {
    if (!refresh && this.cached && this.cached.expiresAt > this.clock()) return Promise.resolve(this.cached.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string> {
    const basic = Buffer.from(`${encodeURIComponent(this.credential.clientId)}:${encodeURIComponent(this.credential.clientSecret)}`, 'utf8').toString('base64');
    const result = await this.client.send({
      url: `${this.workspaceUrl}/oidc/v1/token`,
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': USER_AGENT },
      body: 'grant_type=client_credentials&scope=all-apis',
      verifyTls: true,
      redact: (text) => text.replaceAll(this.credential.clientSecret, '<redacted>'),
    });
    if (result.kind === 'error') throw new UnityCatalogFailure('unavailable', `token endpoint: ${result.error}`);
    if (result.status === 429 || result.status >= 500) throw new UnityCatalogFailure('throttled', `token endpoint answered HTTP ${result.status}`, { retryAfterMs: result.retryAfterMs });
    if (result.status !== 200) throw new UnityCatalogFailure('denied', `token endpoint answered HTTP ${result.status}: ${oauthReason(result.body)} (check ${UNITY_CATALOG_SETTINGS.clientId} and ${UNITY_CATALOG_SETTINGS.clientSecret})`);
    let answer: { access_token?: unknown; expires_in?: unknown };
    try {
      answer = JSON.parse(result.body) as typeof answer;
    } catch {
      throw new UnityCatalogFailure('malformed', 'token endpoint answered something other than JSON');
    }
    if (typeof answer.access_token !== 'string' || answer.access_token === '') throw new UnityCatalogFailure('malformed', 'token endpoint answered no access_token');
    const lifetimeMs = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in * 1000 : 3_600_000;
    this.cached = { token: answer.access_token, expiresAt: this.clock() + Math.max(0, lifetimeMs - EXPIRY_MARGIN_MS) };
    return answer.access_token;
  }
}

/** The OAuth error of a token endpoint (`{"error", "error_description"}`), without anything else it said. */
function oauthReason(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    return [parsed.error, parsed.error_description].filter((part) => typeof part === 'string').join(': ').slice(0, 200) || 'no reason given';
  } catch {
    return 'no reason given';
  }
}

/** An Entra token of the app's identity for the Azure Databricks resource. */
class EntraTokenSource implements TokenSource {
  constructor(private readonly credential: TokenCredential) {}

  async token(): Promise<string> {
    try {
      const answer = await this.credential.getToken(`${AZURE_DATABRICKS_RESOURCE}/.default`);
      if (!answer) throw new Error('no token');
      return answer.token;
    } catch (error) {
      throw new UnityCatalogFailure('denied', `the app's managed identity got no token for Azure Databricks (${error instanceof Error ? error.name : 'error'})`);
    }
  }
}

export function tokenSourceFor(credential: UnityCatalogCredential, deps: { client: OutboundClient; workspaceUrl: string; clock: Clock; identity: () => TokenCredential }): TokenSource {
  switch (credential.kind) {
    case 'token':
      return { token: () => Promise.resolve(credential.token) };
    case 'oauth':
      return new OAuthTokenSource(deps.client, deps.workspaceUrl, credential, deps.clock);
    case 'managed-identity':
      return new EntraTokenSource(deps.identity());
  }
}

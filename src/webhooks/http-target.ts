import { invalidParameter, type ApiError } from '../shared/errors.js';
import { urlProblemFor } from './format-url.js';
import type { CreateWebhookInput } from './schemas.js';
import { checkTargetUrl, type Resolver, type TargetPolicy } from './target-policy.js';
import { destinationOfUrl, type HttpTarget, type PayloadFormat } from './webhook.js';
import { definedOnly } from '../shared/defined.js';
import { whyAudienceRefused, type EntraAudience } from '../shared/entra-audiences.js';

export interface HttpTargetDeps {
  policy: TargetPolicy;
  resolve: Resolver;
  /** The Entra audiences a webhook may ask a token for, and the origins of each (WEBHOOKS_ENTRA_AUDIENCES); none when empty. */
  entraAudiences: readonly EntraAudience[];
}

type HttpSpec = Partial<NonNullable<CreateWebhookInput['http_url_spec']>>;
type Credential = Pick<HttpTarget, 'authorization' | 'oauth2' | 'azureAdAudience'>;

const CREDENTIAL_FIELDS = ['authorization', 'oauth2', 'azure_ad_audience'] as const;

/** Stored credentials never follow a webhook to a new origin or path: the caller must send them again. */
export const credentialsMustBeResent = (credential: string, moved: string, where = 'another origin'): ApiError =>
  invalidParameter(
    `Missing required parameter '${credential}': '${moved}' moves to ${where}, where the stored value is never sent; send it again${credential.endsWith('authorization') ? ' (or "" for none)' : ''}`,
  );

/**
 * The HTTP target a create (`previous` empty) or an update makes: fields left out keep their stored values, `""`
 * clears secret and authorization, and `databricks` is kept as no format so the webhook lists as a Databricks one.
 */
export async function httpTargetFor(deps: HttpTargetDeps, spec: HttpSpec, previous: Partial<HttpTarget>): Promise<HttpTarget> {
  const url = spec.url ?? previous.url;
  if (url === undefined) throw invalidParameter("Missing required parameter 'http_url_spec.url': needed to switch to an HTTP target");
  const checked = await checkTargetUrl(url, 'http_url_spec.url', deps.policy, deps.resolve);
  const format = spec.format ?? previous.format;
  const problem = urlProblemFor(format, checked);
  if (problem !== undefined) throw invalidParameter(`Invalid parameter 'http_url_spec.url': ${problem}`);
  const credential = await credentialFor(deps, spec, previous, url, checked.origin);
  const secret = spec.secret ?? previous.secret;
  const rate = spec.max_requests_per_second ?? previous.maxRequestsPerSecond;
  return {
    kind: 'http',
    url,
    enableSslVerification: spec.enable_ssl_verification ?? previous.enableSslVerification ?? true,
    ...(secret ? { secret } : {}),
    ...credential,
    ...(format !== undefined && format !== 'databricks' ? { format: format satisfies PayloadFormat } : {}),
    ...(rate ? { maxRequestsPerSecond: rate } : {}),
  };
}

/**
 * A webhook has one kind of credential at most. Any credential field given replaces every stored one (`""` for
 * none); none given keeps the stored one, unless the URL moves to another origin or path.
 */
async function credentialFor(deps: HttpTargetDeps, spec: HttpSpec, previous: Partial<HttpTarget>, url: string, origin: string): Promise<Credential> {
  const set = CREDENTIAL_FIELDS.filter((field) => spec[field]);
  if (set.length > 1) throw invalidParameter(`Invalid parameter 'http_url_spec.${set[1]}': only one of ${CREDENTIAL_FIELDS.map((field) => `'http_url_spec.${field}'`).join(', ')} may be set`);
  if (CREDENTIAL_FIELDS.every((field) => spec[field] === undefined)) {
    const stored = previous.authorization ? 'authorization' : previous.oauth2 ? 'oauth2' : previous.azureAdAudience ? 'azure_ad_audience' : undefined;
    // A stored credential follows a URL change within its endpoint (origin and path) only: one origin often serves many
    // owners (a Logic Apps or Power Automate host serves every tenant's workflows, each at its own path).
    const before = previous.url === undefined ? undefined : destinationOfUrl(previous.url);
    if (stored && before && before.endpoint !== destinationOfUrl(url).endpoint) {
      throw credentialsMustBeResent(`http_url_spec.${stored}`, 'http_url_spec.url', before.origin === origin ? 'another path' : 'another origin');
    }
    return {
      ...(previous.authorization ? { authorization: previous.authorization } : {}),
      ...(previous.oauth2 ? { oauth2: previous.oauth2 } : {}),
      ...(previous.azureAdAudience ? { azureAdAudience: previous.azureAdAudience } : {}),
    };
  }
  if (spec.oauth2) {
    const { token_url: tokenUrl, client_id: clientId, client_secret: clientSecret, scope } = spec.oauth2;
    await checkTargetUrl(tokenUrl, 'http_url_spec.oauth2.token_url', deps.policy, deps.resolve);
    return { oauth2: { tokenUrl, clientId, clientSecret, ...definedOnly({ scope }) } };
  }
  if (spec.azure_ad_audience) {
    const refused = whyAudienceRefused(deps.entraAudiences, spec.azure_ad_audience, origin);
    if (refused !== undefined) throw invalidParameter(`Invalid parameter 'http_url_spec.azure_ad_audience': ${refused}`);
    return { azureAdAudience: spec.azure_ad_audience };
  }
  return spec.authorization ? { authorization: spec.authorization } : {};
}

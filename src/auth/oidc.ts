import { createRemoteJWKSet, customFetch, errors, jwtVerify, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import { fetch } from 'undici';
import { errorMessage } from '../shared/errors.js';
import type { Grant, GrantSpec, Role } from './grants.js';
import { principalWith, type AuthResult, type Authenticator } from './principal.js';

/** The app roles of the API registration, and the service role each stands for. */
export const ROLE_CLAIMS: Readonly<Record<string, Role>> = {
  'Webhooks.Admin': 'admin',
  'Webhooks.Manage': 'manager',
  'Events.Publish': 'publisher',
};

/** Clock skew allowed on `exp` and `nbf`. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/** Asymmetric algorithms only: `none` and HMAC (a public key misused as a shared secret) never verify. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const FETCH_TIMEOUT_MS = 5000;

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** Least time between two JWKS fetches caused by an unknown `kid` (jose's cooldown). */
  refetchCooldownMs?: number;
  /** The claim whose values `grants` maps to roles and models (`groups`, say). */
  grantsClaim?: string;
  grants?: readonly { value: string; grant: GrantSpec }[];
}

/** A claim's values: a string, or the strings of an array. */
const claimValues = (claim: unknown): string[] =>
  typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim.filter((item): item is string => typeof item === 'string') : [];

const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

/** Bearer JWTs from an OIDC issuer, checked against its discovered, cached JWKS; then issuer, audience, expiry and `roles`. */
export class OidcAuthenticator implements Authenticator {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly options: OidcOptions) {}

  async authenticate(token: string): Promise<AuthResult> {
    if (!looksLikeJwt(token)) return { kind: 'unknown' };
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await this.discover();
    } catch (error) {
      this.keys = undefined;
      return { kind: 'unavailable', reason: `OIDC discovery failed: ${errorMessage(error)}` };
    }
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      });
      const subject = typeof payload.oid === 'string' ? payload.oid : (payload.sub ?? 'unknown');
      const id = `oidc:${subject}`;
      const grants = this.grantsOf(payload);
      return grants.length === 0 ? { kind: 'no-role', id } : { kind: 'principal', principal: principalWith(id, grants) };
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        return { kind: 'unavailable', reason: `the issuer's keys could not be fetched: ${errorMessage(error)}` };
      }
      return { kind: 'invalid', reason: `${error.code}: ${error.message}` };
    }
  }

  /** App roles grant their role for every model; the configured claim's values grant what the setting maps them to. */
  private grantsOf(payload: Record<string, unknown>): Grant[] {
    const roleGrants = claimValues(payload.roles).flatMap((claim): Grant[] => {
      const role = Object.hasOwn(ROLE_CLAIMS, claim) ? ROLE_CLAIMS[claim] : undefined;
      return role ? [{ role, via: `roles=${claim}` }] : [];
    });
    const claim = this.options.grantsClaim;
    const values = new Set(claim === undefined ? [] : claimValues(payload[claim]));
    const mapped = (this.options.grants ?? [])
      .filter(({ value }) => values.has(value))
      .map(({ value, grant }): Grant => ({ ...grant, via: `${claim ?? ''}=${value}` }));
    return [...roleGrants, ...mapped];
  }

  private discover(): Promise<JWTVerifyGetKey> {
    this.keys ??= (async () => {
      const response = await fetch(`${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`the discovery document answered ${response.status}`);
      const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (document.issuer !== this.options.issuer) throw new Error(`the discovery document names issuer ${String(document.issuer)}`);
      if (typeof document.jwks_uri !== 'string') throw new Error('the discovery document has no jwks_uri');
      return createRemoteJWKSet(new URL(document.jwks_uri), {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: this.options.refetchCooldownMs ?? 30_000,
        cacheMaxAge: 10 * 60_000,
        [customFetch]: fetch as unknown as FetchImplementation,
      });
    })();
    return this.keys;
  }
}

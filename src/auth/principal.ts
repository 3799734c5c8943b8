import type { Role } from '../config.js';

/** Who is calling. `id` is safe to log and audit: it never holds a token. */
export interface Principal {
  id: string;
  /** At least one; an OIDC token may carry several app roles. */
  roles: readonly Role[];
}

/**
 * Turns a bearer token into a principal. `unknown`: not a token this authenticator knows (the next may);
 * `invalid`: it is one of its kind but fails verification (401); `no-role`: valid but without a role of this
 * service (403); `unavailable`: it cannot be checked now (the issuer's keys could not be fetched: 503).
 */
export interface Authenticator {
  authenticate(token: string): Promise<AuthResult>;
}

export type AuthResult =
  | { kind: 'principal'; principal: Principal }
  | { kind: 'unknown' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'no-role'; id: string }
  | { kind: 'unavailable'; reason: string };

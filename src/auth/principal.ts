import type { Grant, Role } from './grants.js';

/** Who is calling. `id` is safe to log and audit: it never holds a token. */
export interface Principal {
  id: string;
  /** At least one; an OIDC token may carry several app roles. The roles of `grants`, when those are given. */
  roles: readonly Role[];
  /**
   * What the principal may do, model by model. The authenticators always set it; when absent, each role
   * counts as a grant for every model.
   */
  grants?: readonly Grant[];
}

/** A principal holding these grants. */
export const principalWith = (id: string, grants: readonly Grant[]): Principal => ({ id, roles: [...new Set(grants.map((grant) => grant.role))], grants });

/**
 * Turns a bearer token into a principal: `unknown` (the next authenticator may know it), `invalid` (401),
 * `no-role` (403) or `unavailable` (the issuer's keys could not be fetched: 503).
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

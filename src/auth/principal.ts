import type { Role } from '../config.js';

/** Who is calling. `id` is safe to log and audit: it never holds a token. */
export interface Principal {
  id: string;
  role: Role;
}

/** Turns a bearer token into a principal: undefined for unknown credentials, `role: undefined` for no role. */
export interface Authenticator {
  authenticate(token: string): Promise<AuthResult>;
}

export type AuthResult = { kind: 'principal'; principal: Principal } | { kind: 'unknown' } | { kind: 'no-role'; id: string };

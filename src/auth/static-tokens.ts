import { createHash, timingSafeEqual } from 'node:crypto';
import type { Grant, GrantSpec } from './grants.js';
import { principalWith, type AuthResult, type Authenticator } from './principal.js';

/** A `WEBHOOKS_AUTH_TOKENS` entry: its role, the model patterns it is limited to (if any), and the token. */
export interface StaticToken extends GrantSpec {
  token: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The static tokens of `WEBHOOKS_AUTH_TOKENS`, every one compared as a SHA-256 digest on every call, so timing tells
 * nothing about which matched. A token in several entries holds all their grants.
 */
export class StaticTokenAuthenticator implements Authenticator {
  private readonly entries: { grant: Grant; digest: Buffer; id: string }[];

  constructor(tokens: readonly StaticToken[]) {
    this.entries = tokens.map(({ role, models, token }) => ({
      grant: { role, ...(models ? { models } : {}), via: 'WEBHOOKS_AUTH_TOKENS' },
      digest: digest(token),
      id: `token:${role}:${digest(token).toString('hex').slice(0, 8)}`,
    }));
  }

  authenticate(token: string): Promise<AuthResult> {
    const candidate = digest(token);
    const matches = this.entries.filter((entry) => timingSafeEqual(entry.digest, candidate));
    const [first] = matches;
    return Promise.resolve(first ? { kind: 'principal', principal: principalWith(first.id, matches.map((entry) => entry.grant)) } : { kind: 'unknown' });
  }
}

/** Tries each authenticator in turn; the first that knows the token decides. */
export class ChainAuthenticator implements Authenticator {
  constructor(private readonly chain: readonly Authenticator[]) {}

  async authenticate(token: string): Promise<AuthResult> {
    for (const authenticator of this.chain) {
      const result = await authenticator.authenticate(token);
      if (result.kind !== 'unknown') return result;
    }
    return { kind: 'unknown' };
  }
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../shared/errors.js';
import { readGrantSpec, ROLES, type Grant, type GrantSpec } from './grants.js';
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

/**
 * `WEBHOOKS_AUTH_TOKENS`: a comma list of `role:token` or `role[patterns]:token` (syntax in docs/auth.md).
 * Errors name the entry by its position and never quote a token.
 */
export function parseAuthTokens(raw: string, setting: string): StaticToken[] {
  const tokens: StaticToken[] = [];
  const shape = `each entry is role:token or role[model patterns]:token, with role one of ${ROLES.join(', ')} and a token of at least 16 characters`;
  let position = 0;
  for (let index = 1; position < raw.length; index += 1) {
    while (position < raw.length && (raw.charAt(position) === ',' || /\s/.test(raw.charAt(position)))) position += 1;
    if (position >= raw.length) break;
    const where = `entry ${index}`;
    let spec: GrantSpec & { end: number };
    try {
      spec = readGrantSpec(raw, position, setting, where);
    } catch (error) {
      throw error instanceof ConfigError && /must start with a role/.test(error.message) ? new ConfigError(`${setting}: ${where}: ${shape}`, setting) : error;
    }
    if (raw.charAt(spec.end) !== ':') throw new ConfigError(`${setting}: ${where}: ${shape}`, setting);
    const comma = raw.indexOf(',', spec.end);
    const token = raw.slice(spec.end + 1, comma < 0 ? raw.length : comma).trim();
    if (token.length < 16) throw new ConfigError(`${setting}: ${where}: ${shape}`, setting);
    tokens.push({ role: spec.role, ...(spec.models ? { models: spec.models } : {}), token });
    position = comma < 0 ? raw.length : comma + 1;
  }
  return tokens;
}

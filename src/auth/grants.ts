import { ConfigError } from '../shared/errors.js';

export type Role = 'admin' | 'manager' | 'publisher';
export const ROLES: readonly Role[] = ['admin', 'manager', 'publisher'];

/**
 * What a principal may do: a role, for every model or only for the models its patterns match. A pattern is
 * an exact model name, a prefix ending in `*`, or `*` alone (every model).
 */
export interface Grant {
  role: Role;
  /** The model patterns; absent: every model, the role's meaning without a scope. */
  models?: readonly string[];
  /** Where the grant comes from, for the audit log: `WEBHOOKS_AUTH_TOKENS`, `roles=Webhooks.Manage`, `groups=<id>`. */
  via: string;
}

/** A grant as written in a setting: `manager` or `manager[fraud-*|churn-model]`. */
export interface GrantSpec {
  role: Role;
  models?: string[];
}

export const matchesPattern = (pattern: string, modelName: string): boolean =>
  pattern.endsWith('*') ? modelName.startsWith(pattern.slice(0, -1)) : modelName === pattern;

/** `manager[fraud-*|churn-model] (WEBHOOKS_AUTH_TOKENS)`: what the audit log records as the grant used. */
export const describeGrant = (grant: Grant): string => `${grant.role}${grant.models ? `[${grant.models.join('|')}]` : ''} (${grant.via})`;

/**
 * Reads `role` or `role[pattern|pattern]` at `start` of `text` and answers it with the index after it.
 * `where` names the entry in errors; the text after the grant (a token, say) is never quoted.
 */
export function readGrantSpec(text: string, start: number, setting: string, where: string): GrantSpec & { end: number } {
  let end = start;
  while (end < text.length && /[a-z]/i.test(text.charAt(end))) end += 1;
  const role = text.slice(start, end);
  if (!ROLES.includes(role as Role)) {
    throw new ConfigError(`${setting}: ${where} must start with a role, one of ${ROLES.join(', ')}, optionally followed by [model patterns]`, setting);
  }
  if (text.charAt(end) !== '[') return { role: role as Role, end };
  const close = text.indexOf(']', end + 1);
  if (close < 0) throw new ConfigError(`${setting}: ${where} opens '[' without a closing ']'`, setting);
  if (role === 'admin') {
    throw new ConfigError(`${setting}: ${where}: admin always covers every model and cannot be scoped; grant manager[...] or publisher[...] instead`, setting);
  }
  const models = text.slice(end + 1, close).split('|');
  models.forEach((pattern, index) => checkPattern(pattern, index + 1, setting, where));
  return { role: role as Role, models, end: close + 1 };
}

/** Checks one model pattern. Errors name its position, never quote it: a missing ']' runs on into the next tokens. */
function checkPattern(pattern: string, position: number, setting: string, where: string): void {
  const which = `model pattern ${position}`;
  const fix = `a pattern is an exact model name, a prefix ending in '*', or '*' alone, separated by '|'`;
  if (pattern === '') throw new ConfigError(`${setting}: ${where} has an empty model pattern; ${fix}`, setting);
  if (pattern.slice(0, -1).includes('*')) throw new ConfigError(`${setting}: ${where}: ${which} may hold '*' only at its end; ${fix}`, setting);
  if (pattern.trim() !== pattern) {
    throw new ConfigError(`${setting}: ${where}: ${which} starts or ends with whitespace; write patterns without spaces around '|'`, setting);
  }
  // Model names are limited in characters (code points), not UTF-16 units: 256, and a prefix pattern's '*'.
  if (Array.from(pattern).length > 257) throw new ConfigError(`${setting}: ${where}: ${which} is longer than any model name (256)`, setting);
}

/** `WEBHOOKS_AUTH_OIDC_GRANTS`: `<claim value>=<grant>;…` (syntax in docs/auth.md). */
export function parseOidcGrants(raw: string, setting: string): { value: string; grant: GrantSpec }[] {
  const grants: { value: string; grant: GrantSpec }[] = [];
  let position = 0;
  while (position < raw.length) {
    const where = `grant ${grants.length + 1}`;
    const equals = raw.indexOf('=', position);
    const semicolon = raw.indexOf(';', position);
    if (semicolon >= 0 && (equals < 0 || semicolon < equals)) {
      if (raw.slice(position, semicolon).trim() !== '') throw new ConfigError(`${setting}: ${where} must be <claim value>=<role>[patterns]`, setting);
      position = semicolon + 1;
      continue;
    }
    if (equals < 0) {
      if (raw.slice(position).trim() === '') break;
      throw new ConfigError(`${setting}: ${where} must be <claim value>=<role>[patterns]`, setting);
    }
    const value = raw.slice(position, equals).trim();
    if (value === '') throw new ConfigError(`${setting}: ${where} has an empty claim value before '='`, setting);
    const spec = readGrantSpec(raw, equals + 1, setting, `${where} (${value})`);
    const rest = raw.slice(spec.end).match(/^\s*(;|$)/);
    if (!rest) throw new ConfigError(`${setting}: ${where} (${value}): unexpected text after the grant; separate grants with ';'`, setting);
    grants.push({ value, grant: { role: spec.role, ...(spec.models ? { models: spec.models } : {}) } });
    position = spec.end + rest[0].length;
  }
  return grants;
}

import type { Target } from '../webhooks/webhook.js';

const REDACTED = '[REDACTED]';
/**
 * Secrets shorter than this are cut only where they stand alone (not inside a longer run of letters and
 * digits): cutting every `ab` out of a body would destroy it, and an echo of a header or JSON value stands alone.
 */
export const STANDALONE_BELOW_CHARS = 8;

/**
 * The write-only values of a target: the secret, the authorization with and without its scheme (for `Basic`,
 * also the decoded `user:password` and the password), the access token.
 */
export function secretsOf(target: Target): string[] {
  if (target.kind === 'job') return [target.accessToken].filter(Boolean);
  const values = [target.secret, target.authorization, target.oauth2?.clientSecret];
  const bare = target.authorization?.replace(/^\S+\s+/, '');
  if (bare !== undefined && bare !== target.authorization) values.push(bare);
  if (bare !== undefined && /^basic\s/i.test(target.authorization ?? '')) {
    const decoded = Buffer.from(bare, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) values.push(decoded, decoded.slice(colon + 1));
  }
  return [...new Set(values.filter((value): value is string => value !== undefined && value.length > 0))];
}

const hex = (code: number, upper: boolean): string => code.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']();

/** JSON string escapes as serializers write them: plain, non-ASCII as `\u` (either case), `/` as `\/`. */
function jsonEscapes(value: string): string[] {
  const plain = JSON.stringify(value).slice(1, -1);
  const ascii = (upper: boolean) => plain.replace(/[\u0080-\uffff]/g, (char) => `\\u${hex(char.charCodeAt(0), upper).padStart(4, '0')}`);
  const variants = [plain, ascii(false), ascii(true)];
  return [...variants, ...variants.map((variant) => variant.replaceAll('/', '\\/'))];
}

/** Percent-encoding of the UTF-8 bytes: as `encodeURIComponent`, or of everything but unreserved characters, either case; forms write space as `+`. */
function urlEncodings(value: string): string[] {
  const strict = (upper: boolean, plusForSpace: boolean) =>
    [...Buffer.from(value, 'utf8')]
      .map((byte) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : plusForSpace && byte === 0x20 ? '+' : `%${hex(byte, upper)}`))
      .join('');
  return [encodeURIComponent(value), strict(true, false), strict(false, false), strict(true, true), strict(false, true)];
}

function htmlEscapes(value: string): string[] {
  const base = value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
  return [base.replaceAll("'", '&#39;'), base.replaceAll("'", '&#x27;')];
}

/** Base64 of the value alone and, when long enough, the parts only its bytes decide at each alignment in longer base64. */
function base64Encodings(value: string, long: boolean): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const whole = [bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url')];
  if (!long) return whole;
  const cores = [0, 1, 2].flatMap((offset) => {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]);
    const [from, to] = [Math.ceil((8 * offset) / 6), Math.floor((8 * shifted.length) / 6)];
    return [shifted.toString('base64').slice(from, to), shifted.toString('base64url').slice(from, to)];
  });
  return [...whole, ...cores];
}

/** Every spelling of one secret that a target could plausibly echo. */
function encodingsOf(value: string, long: boolean): string[] {
  const json = jsonEscapes(value);
  const twice = json.map((escaped) => JSON.stringify(escaped).slice(1, -1));
  return [value, ...json, ...twice, ...urlEncodings(value), ...htmlEscapes(value), ...base64Encodings(value, long)];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Cuts the webhook's write-only values, in every spelling above, out of a receiver's answer, which the delivery log
 * keeps and the test call returns (docs/security.md, Redaction of target answers).
 */
export function redactSecrets(text: string, target: Target): string {
  const needles = new Map<string, boolean>();
  for (const secret of secretsOf(target)) {
    const long = secret.length >= STANDALONE_BELOW_CHARS;
    for (const encoded of encodingsOf(secret, long)) {
      if (encoded.length > 0 && !needles.get(encoded)) needles.set(encoded, long);
    }
  }
  let redacted = text;
  for (const [needle, anywhere] of [...needles].sort(([a], [b]) => b.length - a.length)) {
    redacted = anywhere
      ? redacted.split(needle).join(REDACTED)
      : redacted.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(needle)}(?![A-Za-z0-9])`, 'g'), REDACTED);
  }
  return redacted;
}

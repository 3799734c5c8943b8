import { createHash } from 'node:crypto';

/**
 * A model's partition key: `m_` and the name percent-encoded (Table keys forbid `/\#?`), or `h_` and its SHA-256 when
 * long; `r_` is the registry-wide one. The prefixes never collide.
 */
export const REGISTRY_WIDE_SCOPE = 'r_';
const MAX_READABLE_KEY = 400;

const needsEscape = (char: string): boolean => {
  const code = char.codePointAt(0) ?? 0;
  return char === '%' || char === '/' || char === '\\' || char === '#' || char === '?' || code < 0x20 || (code >= 0x7f && code <= 0x9f);
};

export function scopeKeyOf(modelName: string | undefined): string {
  if (modelName === undefined) return REGISTRY_WIDE_SCOPE;
  let escaped = '';
  for (const char of modelName) {
    escaped += needsEscape(char) ? encodeURIComponent(char) : char;
    if (escaped.length > MAX_READABLE_KEY) return `h_${createHash('sha256').update(modelName, 'utf8').digest('hex')}`;
  }
  return `m_${escaped}`;
}

/** 13-digit inverted epoch milliseconds: row keys that sort newest first. */
export function invertedTimestamp(ms: number): string {
  return String(9_999_999_999_999 - Math.trunc(ms)).padStart(13, '0');
}

export function timestampFromInverted(inverted: string): number {
  return 9_999_999_999_999 - Number(inverted);
}

/** The UTC day of a time, `20261128`: partitions named by it sort by time, so expired ones are a key range. */
export const dayKeyOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

/** The start (epoch ms) of a `dayKeyOf` day. */
export const startOfDayKey = (day: string): number => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));

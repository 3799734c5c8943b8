import { createHash, randomBytes } from 'node:crypto';

export type IdSource = () => string;

/** Webhook ids: 32 lowercase hex characters, as Databricks issues them. */
export const randomHexId: IdSource = () => randomBytes(16).toString('hex');

export const sha256Hex = (...parts: string[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part, 'utf8').update('\u0000');
  return hash.digest('hex');
};

export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

/** Strings from outside must be well-formed UTF-16: a lone surrogate cannot be stored, signed or sent as UTF-8. */
export const hasLoneSurrogate = (text: string): boolean => /[\uD800-\uDFFF]/u.test(text);

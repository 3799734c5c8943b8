import type { Clock } from '../shared/ids.js';

/** A token, or why none could be had (`retryable`: whether trying again later can help). */
export type TokenAnswer = { kind: 'token'; token: string } | { kind: 'error'; error: string; retryable: boolean };

/** Tokens kept at most; past it the oldest goes. */
const MAX_TOKENS = 10_000;

/**
 * Tokens by key until shortly before they expire (a tenth of their life, at most a minute, is the margin), with one
 * fetch in flight per key however many attempts ask at once.
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();
  private readonly fetching = new Map<string, Promise<TokenAnswer & { expiresAt?: number }>>();

  constructor(private readonly clock: Clock) {}

  async get(key: string, fetch: () => Promise<TokenAnswer & { expiresAt?: number }>, fresh = false): Promise<TokenAnswer> {
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.refreshAt > this.clock()) return { kind: 'token', token: cached.token };
    this.tokens.delete(key);
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = fetch().finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    const answer = await pending;
    if (answer.kind !== 'token') return answer;
    const now = this.clock();
    if (answer.expiresAt !== undefined) {
      const life = answer.expiresAt - now;
      const refreshAt = answer.expiresAt - Math.min(60_000, Math.max(0, life) / 10);
      if (refreshAt > now) {
        if (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value ?? '');
        this.tokens.set(key, { token: answer.token, refreshAt });
      }
    }
    return { kind: 'token', token: answer.token };
  }
}

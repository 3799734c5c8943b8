export const DEDUP_WINDOW_MS = 24 * 3_600_000;
/** How long a copy of an event holds it while its fan-out runs; a copy whose process died loses it after this. */
export const EVENT_CLAIM_LEASE_MS = 10 * 60_000;

/** Whether a copy of an event may fan it out: yes; no (a copy finished within 24 h); or not before a time. */
export type ClaimAnswer = { kind: 'mine' } | { kind: 'finished' } | { kind: 'held'; until: number };

/**
 * Which copy of an event id is fanning it out, and which finished: only a copy finished within 24 h makes later ones
 * duplicates; a failed copy's claim expires and is taken over (docs/reliability.md).
 */
export interface EventClaims {
  claim(eventId: string, claimant: string, now: number): Promise<ClaimAnswer>;
  /** Records that the event's fan-out finished (its last chunk included). */
  finish(eventId: string, claimant: string, now: number): Promise<void>;
}

/** The rule every EventClaims applies to the claim it finds: answer it, or take the claim ('take'). */
export function judgeClaim(existing: { Claimant: string; ExpiresAt: number; FinishedAt?: number | undefined }, claimant: string, now: number): ClaimAnswer | 'take' {
  if (existing.FinishedAt !== undefined) return now - existing.FinishedAt < DEDUP_WINDOW_MS ? { kind: 'finished' } : 'take';
  if (existing.Claimant === claimant || existing.ExpiresAt <= now) return 'take';
  return { kind: 'held', until: existing.ExpiresAt };
}

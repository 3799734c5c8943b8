import type { Clock } from '../shared/ids.js';
import type { AttemptResult } from './classify-outcome.js';

/** Consecutive connection failures to one origin that open its circuit. */
export const CIRCUIT_FAILURE_THRESHOLD = 5;
/** The first cool-down of an open circuit; each failed probe doubles it, up to CIRCUIT_MAX_COOLDOWN_MS. */
export const CIRCUIT_COOLDOWN_MS = 30_000;
export const CIRCUIT_MAX_COOLDOWN_MS = 600_000;
/**
 * Origins with a circuit kept at most. Past it, the oldest origin only counting failures makes room (an open
 * circuit is dropped only when every one kept is open), so many failing origins cannot reopen a dead one.
 */
export const MAX_CIRCUITS = 10_000;

export interface CircuitOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  maxCooldownMs?: number;
}

export interface OriginGateOptions {
  clock: Clock;
  /** Attempts on the wire per origin; the app passes CONNECTIONS_PER_ORIGIN (64), its sockets per origin. */
  permits: number;
  /** An origin is congested when its oldest attempt on the wire has been out longer than this (default 1000 ms)... */
  slowAfterMs?: number;
  /** ...with at least this many attempts on the wire (default 8), or any waiting for a permit. */
  minActive?: number;
  circuit?: CircuitOptions;
}

/** An attempt the circuit breaker held back: nothing was sent; try again at `retryAt`. */
export interface HeldAttempt {
  kind: 'held';
  retryAt: number;
}

interface Circuit {
  /** Consecutive connection failures while closed. */
  failures: number;
  /** The cool-down the circuit opens (or reopened) with. */
  cooldownMs: number;
  /** Set while open: no attempt before this time; then one probe (half-open). */
  openUntil?: number;
  /** A probe is on the wire. */
  probing: boolean;
}

interface OriginState {
  /** Permits held; a released permit passes straight to the next waiter. */
  inUse: number;
  /** Start times of the attempts that hold a permit (are on the wire). */
  active: Set<{ since: number }>;
  /** Attempts waiting for a permit, first come first served. */
  waiting: (() => void)[];
}

/**
 * Per-origin permits and a circuit breaker, one per process, so one slow or failing endpoint can neither take every
 * connection nor hold every worker slot (docs/delivery.md, Per-origin circuit breaker).
 */
export class OriginGate {
  private readonly origins = new Map<string, OriginState>();
  private readonly circuits = new Map<string, Circuit>();
  private readonly breaker: Required<CircuitOptions>;

  private readonly clock: Clock;
  private readonly permits: number;
  private readonly slowAfterMs: number;
  private readonly minActive: number;

  constructor(options: OriginGateOptions) {
    this.clock = options.clock;
    this.permits = options.permits;
    this.slowAfterMs = options.slowAfterMs ?? 1000;
    this.minActive = options.minActive ?? 8;
    const breaker = options.circuit ?? {};
    this.breaker = {
      failureThreshold: breaker.failureThreshold ?? CIRCUIT_FAILURE_THRESHOLD,
      cooldownMs: breaker.cooldownMs ?? CIRCUIT_COOLDOWN_MS,
      maxCooldownMs: Math.max(breaker.maxCooldownMs ?? CIRCUIT_MAX_COOLDOWN_MS, breaker.cooldownMs ?? CIRCUIT_COOLDOWN_MS),
    };
  }

  /**
   * When the origin's circuit lets an attempt through again, while it holds them back: open and cooling
   * down, or half-open with its probe on the wire (then now). Undefined while attempts may go.
   */
  heldUntil(origin: string): number | undefined {
    const circuit = this.circuits.get(origin);
    if (circuit?.openUntil === undefined) return undefined;
    const now = this.clock();
    // The clock went back: hold for at most the cool-down from now, not for the time it jumped as well.
    if (circuit.openUntil - now > circuit.cooldownMs) circuit.openUntil = now + circuit.cooldownMs;
    if (now < circuit.openUntil) return circuit.openUntil;
    return circuit.probing ? now : undefined;
  }

  /** Sends one attempt through the origin's permits and circuit; `opened` is told each time the circuit opens. */
  async attempt(origin: string, send: () => Promise<AttemptResult>, opened: (cooldownMs: number) => void = () => undefined): Promise<AttemptResult | HeldAttempt> {
    return this.track(origin, async () => {
      const circuit = this.circuits.get(origin);
      const retryAt = this.heldUntil(origin);
      if (retryAt !== undefined) return { kind: 'held', retryAt };
      const probe = circuit?.openUntil !== undefined;
      if (circuit && probe) circuit.probing = true;
      let result: AttemptResult | undefined;
      try {
        result = await send();
        return result;
      } finally {
        this.recordResult(origin, result, probe, opened);
      }
    });
  }

  private recordResult(origin: string, result: AttemptResult | undefined, probe: boolean, opened: (cooldownMs: number) => void): void {
    if (result?.kind === 'response') {
      this.circuits.delete(origin);
      return;
    }
    const circuit = this.circuits.get(origin);
    if (result?.kind !== 'error' || !result.connectionFailed) {
      // Says nothing about the origin (blocked, internal error): a probe only frees its place for the next.
      if (circuit && probe) circuit.probing = false;
      return;
    }
    const { failureThreshold, cooldownMs, maxCooldownMs } = this.breaker;
    if (!circuit) {
      if (this.circuits.size >= MAX_CIRCUITS) this.makeRoom();
      this.circuits.set(origin, { failures: 1, cooldownMs, probing: false });
      if (failureThreshold <= 1) this.open(origin, opened);
      return;
    }
    if (probe) {
      circuit.probing = false;
      circuit.cooldownMs = Math.min(circuit.cooldownMs * 2, maxCooldownMs);
      this.open(origin, opened);
    } else if (circuit.openUntil === undefined && ++circuit.failures >= failureThreshold) {
      this.open(origin, opened);
    }
  }

  /** Forgets the oldest origin whose circuit is closed (counting failures), or else the oldest open one. */
  private makeRoom(): void {
    for (const [origin, circuit] of this.circuits) {
      if (circuit.openUntil === undefined) {
        this.circuits.delete(origin);
        return;
      }
    }
    const [oldest] = this.circuits.keys();
    if (oldest !== undefined) this.circuits.delete(oldest);
  }

  private open(origin: string, opened: (cooldownMs: number) => void): void {
    const circuit = this.circuits.get(origin);
    if (!circuit) return;
    circuit.openUntil = this.clock() + circuit.cooldownMs;
    opened(circuit.cooldownMs);
  }

  isCongested(origin: string): boolean {
    const state = this.origins.get(origin);
    if (!state || (state.active.size < this.minActive && state.waiting.length === 0)) return false;
    const now = this.clock();
    let oldest = now;
    for (const attempt of state.active) oldest = Math.min(oldest, attempt.since);
    return now - oldest > this.slowAfterMs;
  }

  /** Runs `attempt` once the origin has a free permit. */
  async track<T>(origin: string, attempt: () => Promise<T>): Promise<T> {
    const state = this.origins.get(origin) ?? { inUse: 0, active: new Set(), waiting: [] };
    this.origins.set(origin, state);
    if (state.inUse < this.permits) state.inUse += 1;
    else await new Promise<void>((resolve) => state.waiting.push(resolve));
    const entry = { since: this.clock() };
    state.active.add(entry);
    try {
      return await attempt();
    } finally {
      state.active.delete(entry);
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.inUse === 0) this.origins.delete(origin);
    }
  }
}

import type { Clock } from '../shared/ids.js';

/** Consecutive failures that open a circuit (an origin's or an endpoint's). */
export const CIRCUIT_FAILURE_THRESHOLD = 5;
/** The first cool-down of an open circuit; each failed probe doubles it, up to CIRCUIT_MAX_COOLDOWN_MS. */
export const CIRCUIT_COOLDOWN_MS = 30_000;
export const CIRCUIT_MAX_COOLDOWN_MS = 600_000;
/**
 * Circuits kept at most per book. Past it, the oldest one only counting failures makes room (an open circuit
 * is dropped only when every one kept is open), so many failing keys cannot reopen a dead one.
 */
export const MAX_CIRCUITS = 10_000;

export interface CircuitOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  maxCooldownMs?: number;
}

interface Circuit {
  /** Consecutive failures while closed. */
  failures: number;
  /** The cool-down the circuit opens (or reopened) with. */
  cooldownMs: number;
  /** Set while open: no attempt before this time; then one probe (half-open). */
  openUntil?: number;
  /** A probe is on the wire. */
  probing: boolean;
}

/**
 * Circuit breakers by key: consecutive failures open one for a cool-down, then one probe goes (half-open); a
 * failed probe reopens it with twice the cool-down, a success closes it.
 */
export class CircuitBook {
  private readonly circuits = new Map<string, Circuit>();
  readonly rules: Required<CircuitOptions>;

  constructor(
    private readonly clock: Clock,
    options: CircuitOptions = {},
  ) {
    const cooldownMs = options.cooldownMs ?? CIRCUIT_COOLDOWN_MS;
    this.rules = {
      failureThreshold: options.failureThreshold ?? CIRCUIT_FAILURE_THRESHOLD,
      cooldownMs,
      maxCooldownMs: Math.max(options.maxCooldownMs ?? CIRCUIT_MAX_COOLDOWN_MS, cooldownMs),
    };
  }

  /**
   * When the key's circuit lets an attempt through again, while it holds them back: open and cooling down, or
   * half-open with its probe on the wire (then now). Undefined while attempts may go.
   */
  heldUntil(key: string): number | undefined {
    const circuit = this.circuits.get(key);
    if (circuit?.openUntil === undefined) return undefined;
    const now = this.clock();
    // The clock went back: hold for at most the cool-down from now, not for the time it jumped as well.
    if (circuit.openUntil - now > circuit.cooldownMs) circuit.openUntil = now + circuit.cooldownMs;
    if (now < circuit.openUntil) return circuit.openUntil;
    return circuit.probing ? now : undefined;
  }

  /** Called as an attempt goes (after heldUntil let it): answers whether it is the probe of a half-open circuit. */
  startAttempt(key: string): boolean {
    const circuit = this.circuits.get(key);
    if (circuit?.openUntil === undefined) return false;
    circuit.probing = true;
    return true;
  }

  /** An outcome that clears the key: closes its circuit and forgets its failures. */
  succeeded(key: string): void {
    this.circuits.delete(key);
  }

  /** An outcome that says nothing about the key: a probe only frees its place for the next. */
  ignored(key: string, probe: boolean): void {
    const circuit = this.circuits.get(key);
    if (circuit && probe) circuit.probing = false;
  }

  /** A failure of the key's own: answers the cool-down if this opened (or reopened) its circuit. */
  failed(key: string, probe: boolean): number | undefined {
    const { failureThreshold, cooldownMs, maxCooldownMs } = this.rules;
    const circuit = this.circuits.get(key);
    if (!circuit) {
      if (this.circuits.size >= MAX_CIRCUITS) this.makeRoom();
      this.circuits.set(key, { failures: 1, cooldownMs, probing: false });
      return failureThreshold <= 1 ? this.open(key) : undefined;
    }
    if (probe) {
      circuit.probing = false;
      circuit.cooldownMs = Math.min(circuit.cooldownMs * 2, maxCooldownMs);
      return this.open(key);
    }
    if (circuit.openUntil === undefined && ++circuit.failures >= failureThreshold) return this.open(key);
    return undefined;
  }

  /** Forgets the oldest key whose circuit is closed (counting failures), or else the oldest open one. */
  private makeRoom(): void {
    for (const [key, circuit] of this.circuits) {
      if (circuit.openUntil === undefined) {
        this.circuits.delete(key);
        return;
      }
    }
    const [oldest] = this.circuits.keys();
    if (oldest !== undefined) this.circuits.delete(oldest);
  }

  private open(key: string): number | undefined {
    const circuit = this.circuits.get(key);
    if (!circuit) return undefined;
    circuit.openUntil = this.clock() + circuit.cooldownMs;
    return circuit.cooldownMs;
  }
}

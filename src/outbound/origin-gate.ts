import type { Clock } from '../shared/ids.js';
import { CircuitBook, type CircuitOptions } from './circuit-book.js';
import type { AttemptResult } from './classify-outcome.js';

/** Attempts on the wire to an origin at first; each answer adds one, up to the gate's maximum. */
export const INITIAL_CONCURRENCY = 8;
/** A refused or reset attempt is sent again after a pause between these (ms), without using up an attempt. */
export const REFUSED_RETRY_MIN_MS = 250;
export const REFUSED_RETRY_MAX_MS = 1000;
/** How long one attempt keeps trying again after refusals before it is put off instead (see refusedRetryBudgetOf). */
export const REFUSED_RETRY_BUDGET_MS = 25_000;
/** Origins whose cut concurrency is kept while idle, at most; past it the oldest idle one is forgotten. */
export const MAX_ORIGINS = 10_000;

/**
 * The refusal budget for a delivery deadline: with one more send (at most the deadline) it stays inside the
 * attempt's claim lease (2 × deadline + 15 s), so no other message takes over an attempt still being made.
 */
export const refusedRetryBudgetOf = (timeoutMs: number): number => timeoutMs + 10_000;

/** Where an attempt goes: its origin (scheme, host, port) and its endpoint (the URL without its query). */
export interface Destination {
  origin: string;
  endpoint: string;
}

/** An attempt the gate held back: nothing was sent; try again at `retryAt`. */
export interface HeldAttempt {
  kind: 'held';
  retryAt: number;
}

/** A circuit that opened: the origin's (connection failures) or one endpoint's (its timeouts), named by origin only. */
export interface CircuitOpening {
  scope: 'origin' | 'endpoint';
  origin: string;
  failures: number;
  cooldownMs: number;
}

/** The log line for a circuit that opened: it names the origin only, never a path or query (they can hold secrets). */
export function describeCircuitOpening({ scope, origin, failures, cooldownMs }: CircuitOpening): string {
  const shown = URL.canParse(origin) ? new URL(origin).origin : 'an unreadable origin';
  const seconds = Math.round(cooldownMs / 1000);
  return scope === 'origin'
    ? `circuit to ${shown} opened after repeated connection failures: no attempt to it for ${seconds} s`
    : `an endpoint on ${shown} held after ${failures} timeouts in a row: no attempt to it for ${seconds} s`;
}

export interface GateOptions {
  /** Attempts on the wire per origin at most; the app passes CONNECTIONS_PER_ORIGIN (64), its sockets per origin. */
  maxConcurrency?: number;
  initialConcurrency?: number;
  /** Attempts that would wait behind others that have not moved for this long are put off instead. */
  slowAfterMs?: number;
  circuit?: CircuitOptions;
  refusedRetryBudgetMs?: number;
  pause?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Permit {
  endpoint: string;
  since: number;
  /** The origin's concurrency, and its decrease count, when the attempt went. */
  limit: number;
  epoch: number;
}

interface OriginState {
  /** Attempts allowed on the wire now: grows by one per answer, halves on a refused or reset connection. */
  limit: number;
  /** Decreases so far: a refusal of an attempt sent before the last decrease is already answered by it. */
  epoch: number;
  active: Set<Permit>;
  inUseByEndpoint: Map<string, number>;
  /** When a permit was last given back, for the origin and each endpoint: is it moving? */
  releasedAt: Map<string, number>;
  /** `held` is told instead, and the waiter leaves, when a circuit opens over it (attempts only, not test calls). */
  waiting: { endpoint: string; grant: () => void; held?: () => void }[];
  /** Holders, waiters and attempts pausing before a retry. With none left, a state back at its start is forgotten. */
  members: number;
}

const ORIGIN = '';
const defaultPause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Per-origin adaptive concurrency and two kinds of circuit breaker, one gate per process (docs/delivery.md,
 * Sharing an origin). Connection failures are the origin's: refused or reset ones halve its concurrency and are
 * sent again, and only failures one at a time open its circuit. Timeouts are the endpoint's alone: they open that
 * endpoint's circuit and never slow the origin. One endpoint holds at most half of its origin's slots.
 */
export class OriginGate {
  private readonly origins = new Map<string, OriginState>();
  private readonly originCircuits: CircuitBook;
  private readonly endpointCircuits: CircuitBook;
  private readonly maxConcurrency: number;
  private readonly initialConcurrency: number;
  private readonly slowAfterMs: number;
  private readonly refusedRetryBudgetMs: number;
  private readonly pause: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly clock: Clock,
    options: GateOptions = {},
  ) {
    this.maxConcurrency = Math.max(1, options.maxConcurrency ?? 64);
    this.initialConcurrency = Math.min(this.maxConcurrency, Math.max(1, options.initialConcurrency ?? INITIAL_CONCURRENCY));
    this.slowAfterMs = options.slowAfterMs ?? 1000;
    this.refusedRetryBudgetMs = options.refusedRetryBudgetMs ?? REFUSED_RETRY_BUDGET_MS;
    this.pause = options.pause ?? defaultPause;
    this.random = options.random ?? Math.random;
    this.originCircuits = new CircuitBook(clock, options.circuit);
    this.endpointCircuits = new CircuitBook(clock, options.circuit);
  }

  /** The origin's concurrency now (its starting value while nothing is on the wire). */
  concurrencyOf(origin: string): number {
    return this.origins.get(origin)?.limit ?? this.initialConcurrency;
  }

  /**
   * When the origin's or the endpoint's circuit lets an attempt through again, while either holds them back:
   * open and cooling down, or half-open with its probe on the wire (then now). Undefined while attempts may go.
   */
  heldUntil(destination: Destination): number | undefined {
    const times = [this.originCircuits.heldUntil(destination.origin), this.endpointCircuits.heldUntil(destination.endpoint)];
    const held = times.filter((time): time is number => time !== undefined);
    return held.length > 0 ? Math.max(...held) : undefined;
  }

  /**
   * Whether an attempt would wait for a slot behind attempts that have not moved for `slowAfterMs`: its
   * endpoint's own, when the endpoint holds its share, else any of the origin's, when the origin is full.
   */
  isCongested(destination: Destination): boolean {
    const state = this.origins.get(destination.origin);
    if (!state) return false;
    const endpointFull = this.inUseBy(state, destination.endpoint) >= this.endpointShare(state);
    if (!endpointFull && state.active.size < state.limit) return false;
    const scope = endpointFull ? destination.endpoint : ORIGIN;
    let lastMoved = state.releasedAt.get(scope) ?? -Infinity;
    let oldest = Infinity;
    for (const permit of state.active) if (scope === ORIGIN || permit.endpoint === scope) oldest = Math.min(oldest, permit.since);
    if (oldest === Infinity) return false;
    lastMoved = Math.max(lastMoved, oldest);
    return this.clock() - lastMoved > this.slowAfterMs;
  }

  /**
   * Sends one attempt through the origin's slots and both circuits; `opened` is told each time one opens. A
   * refused or reset connection is sent again within a second, without using up the attempt, until the origin's
   * circuit opens (then that failure is the attempt's outcome) or `refusedRetryBudgetMs` passes (then it is held).
   */
  async attempt(destination: Destination, send: () => Promise<AttemptResult>, opened: (opening: CircuitOpening) => void = () => undefined): Promise<AttemptResult | HeldAttempt> {
    const state = this.enter(destination.origin);
    const giveUpAt = this.clock() + this.refusedRetryBudgetMs;
    try {
      for (;;) {
        const outcome = await this.once(state, destination, send, opened);
        if (!outcome.sendAgain) return outcome.result;
        const pauseMs = Math.round(REFUSED_RETRY_MIN_MS + (REFUSED_RETRY_MAX_MS - REFUSED_RETRY_MIN_MS) * this.random());
        if (this.clock() + pauseMs > giveUpAt) return { kind: 'held', retryAt: this.clock() + pauseMs };
        await this.pause(pauseMs);
      }
    } finally {
      this.leave(destination.origin, state);
    }
  }

  /** Runs `attempt` once the origin and the endpoint have a free slot; no circuit is consulted or told. */
  async track<T>(destination: Destination, attempt: () => Promise<T>): Promise<T> {
    const state = this.enter(destination.origin);
    try {
      const permit = await this.acquire(state, destination.endpoint);
      try {
        return await attempt();
      } finally {
        this.release(state, permit);
      }
    } finally {
      this.leave(destination.origin, state);
    }
  }

  private async once(
    state: OriginState,
    destination: Destination,
    send: () => Promise<AttemptResult>,
    opened: (opening: CircuitOpening) => void,
  ): Promise<{ result: AttemptResult | HeldAttempt; sendAgain: boolean }> {
    // Asked before waiting for a slot and again after: a circuit may open while the attempt waits.
    const heldAtOnce = this.heldUntil(destination);
    if (heldAtOnce !== undefined) return { result: { kind: 'held', retryAt: heldAtOnce }, sendAgain: false };
    const permit = await this.acquire(state, destination.endpoint, true);
    if (!permit) return { result: { kind: 'held', retryAt: this.heldUntil(destination) ?? this.clock() }, sendAgain: false };
    try {
      const retryAt = this.heldUntil(destination);
      if (retryAt !== undefined) return { result: { kind: 'held', retryAt }, sendAgain: false };
      const probes = { origin: this.originCircuits.startAttempt(destination.origin), endpoint: this.endpointCircuits.startAttempt(destination.endpoint) };
      let result: AttemptResult | undefined;
      let sendAgain = false;
      try {
        result = await send();
      } finally {
        sendAgain = this.recordResult(state, permit, destination, result, probes, opened);
      }
      return { result, sendAgain };
    } finally {
      this.release(state, permit);
    }
  }

  /** Books an attempt's outcome on the origin and its endpoint; answers whether to send it again. */
  private recordResult(
    state: OriginState,
    permit: Permit,
    { origin, endpoint }: Destination,
    result: AttemptResult | undefined,
    probes: { origin: boolean; endpoint: boolean },
    opened: (opening: CircuitOpening) => void,
  ): boolean {
    const report = (scope: CircuitOpening['scope'], book: CircuitBook, cooldownMs: number | undefined) => {
      if (cooldownMs === undefined) return false;
      opened({ scope, origin, failures: book.rules.failureThreshold, cooldownMs });
      this.releaseHeldWaiters(state, scope === 'endpoint' ? endpoint : undefined);
      return true;
    };
    if (result?.kind === 'response') {
      this.originCircuits.succeeded(origin);
      this.endpointCircuits.succeeded(endpoint);
      // An origin back from an outage starts afresh; otherwise one more attempt at once.
      state.limit = probes.origin ? this.initialConcurrency : Math.min(this.maxConcurrency, state.limit + 1);
      this.dispatch(state);
      return false;
    }
    const network = result?.kind === 'error' ? result.network : undefined;
    if (network === 'timeout') {
      this.originCircuits.ignored(origin, probes.origin);
      report('endpoint', this.endpointCircuits, this.endpointCircuits.failed(endpoint, probes.endpoint));
      return false;
    }
    this.endpointCircuits.ignored(endpoint, probes.endpoint);
    if (network === undefined) {
      this.originCircuits.ignored(origin, probes.origin);
      return false;
    }
    const overload = network === 'refused' || network === 'reset';
    if (overload && permit.epoch === state.epoch && state.limit > 1) {
      state.limit = Math.max(1, Math.floor(state.limit / 2));
      state.epoch += 1;
    }
    // Refusals count toward the circuit only one at a time: with more on the wire they may only mean "too many".
    if (overload && permit.limit > 1 && !probes.origin) {
      this.originCircuits.ignored(origin, false);
      return true;
    }
    if (report('origin', this.originCircuits, this.originCircuits.failed(origin, probes.origin))) return false;
    return overload;
  }

  private endpointShare(state: OriginState): number {
    return Math.max(1, Math.floor(state.limit / 2));
  }

  private inUseBy(state: OriginState, endpoint: string): number {
    return state.inUseByEndpoint.get(endpoint) ?? 0;
  }

  private canGrant(state: OriginState, endpoint: string): boolean {
    return state.active.size < state.limit && this.inUseBy(state, endpoint) < this.endpointShare(state);
  }

  /** A slot now if the origin and the endpoint have one, else in arrival order; taken as it is given, so none is given twice. */
  private acquire(state: OriginState, endpoint: string): Promise<Permit>;
  private acquire(state: OriginState, endpoint: string, heldAware: true): Promise<Permit | undefined>;
  private acquire(state: OriginState, endpoint: string, heldAware = false): Promise<Permit | undefined> {
    if (this.canGrant(state, endpoint)) return Promise.resolve(this.take(state, endpoint));
    return new Promise<Permit | undefined>((resolve) =>
      state.waiting.push({ endpoint, grant: () => resolve(this.take(state, endpoint)), ...(heldAware ? { held: () => resolve(undefined) } : {}) }),
    );
  }

  /** Sends away the attempts waiting for a slot that a circuit now holds: the origin's, or one endpoint's. */
  private releaseHeldWaiters(state: OriginState, endpoint?: string): void {
    state.waiting = state.waiting.filter((waiter) => {
      if (!waiter.held || (endpoint !== undefined && waiter.endpoint !== endpoint)) return true;
      waiter.held();
      return false;
    });
  }

  private take(state: OriginState, endpoint: string): Permit {
    const permit: Permit = { endpoint, since: this.clock(), limit: state.limit, epoch: state.epoch };
    state.active.add(permit);
    state.inUseByEndpoint.set(endpoint, this.inUseBy(state, endpoint) + 1);
    return permit;
  }

  private release(state: OriginState, permit: Permit): void {
    state.active.delete(permit);
    const left = this.inUseBy(state, permit.endpoint) - 1;
    if (left > 0) state.inUseByEndpoint.set(permit.endpoint, left);
    else state.inUseByEndpoint.delete(permit.endpoint);
    const now = this.clock();
    state.releasedAt.set(ORIGIN, now);
    if (left > 0 || state.waiting.some((waiter) => waiter.endpoint === permit.endpoint)) state.releasedAt.set(permit.endpoint, now);
    else state.releasedAt.delete(permit.endpoint);
    this.dispatch(state);
  }

  /** Gives free slots to waiters in arrival order, passing over those whose endpoint holds its share. */
  private dispatch(state: OriginState): void {
    for (let index = 0; index < state.waiting.length && state.active.size < state.limit; ) {
      const waiter = state.waiting[index];
      if (waiter && this.canGrant(state, waiter.endpoint)) {
        state.waiting.splice(index, 1);
        waiter.grant();
      } else {
        index += 1;
      }
    }
  }

  private enter(origin: string): OriginState {
    let state = this.origins.get(origin);
    if (!state) {
      if (this.origins.size >= MAX_ORIGINS) this.forgetOldestIdle();
      state = { limit: this.initialConcurrency, epoch: 0, active: new Set(), inUseByEndpoint: new Map(), releasedAt: new Map(), waiting: [], members: 0 };
      this.origins.set(origin, state);
    }
    state.members += 1;
    return state;
  }

  /** An origin whose concurrency was cut keeps it while idle, so attempts put off and made again start from there. */
  private leave(origin: string, state: OriginState): void {
    state.members -= 1;
    if (state.members === 0 && state.limit >= this.initialConcurrency && this.origins.get(origin) === state) this.origins.delete(origin);
  }

  private forgetOldestIdle(): void {
    for (const [origin, state] of this.origins) {
      if (state.members === 0) {
        this.origins.delete(origin);
        return;
      }
    }
  }
}

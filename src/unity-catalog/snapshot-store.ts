import type { ModelState, PendingEvent } from './model-changes.js';

/**
 * One model's snapshot: its state at `generation`, and the events found on the way there that are not yet known to
 * be on the queue (the outbox). Written before they are published, so a crash loses none of them.
 */
export interface ModelSnapshot {
  generation: number;
  state: ModelState;
  outbox: PendingEvent[];
  etag: string;
}

/** Something the source could not do, kept for health until that scope is read cleanly again. */
export interface SourceProblem {
  kind: 'denied' | 'missing' | 'malformed' | 'throttled' | 'unavailable';
  /** The selector, model or `credentials` it concerns. */
  scope: string;
  message: string;
  at: number;
}

/** The source's progress and condition, shared by every instance. */
export interface RunState {
  /** Where the last run that spent its budget stopped: the selector, and the last model done in it. */
  cursor?: { selector: string; after?: string };
  /** Selectors whose first pass (the baseline) has completed. */
  baselined: string[];
  /** No run calls the API before this (429 or 5xx back-off). */
  notBefore?: number;
  /** Consecutive runs that ended in a 429, 5xx or network failure. */
  failures: number;
  problems: SourceProblem[];
  lastRunAt?: number;
  lastPassAt?: number;
  passes: number;
  lastRunRequests: number;
  etag?: string;
}

export const EMPTY_RUN_STATE: RunState = { baselined: [], failures: 0, problems: [], passes: 0, lastRunRequests: 0 };

/** Per-model snapshots and the run state, with ETag-conditional writes: a write that lost a race answers false. */
export interface SnapshotStore {
  read(fullName: string): Promise<ModelSnapshot | undefined>;
  /** Creates the snapshot if there is none (false if another poller created it first). */
  create(fullName: string, snapshot: Omit<ModelSnapshot, 'etag'>): Promise<string | false>;
  /** Replaces the snapshot read with `etag` (false if it changed since). */
  replace(fullName: string, snapshot: Omit<ModelSnapshot, 'etag'>, etag: string): Promise<string | false>;
  readRunState(): Promise<RunState>;
  /** Writes the run state; last writer wins, as every run writes all of it. */
  writeRunState(state: RunState): Promise<void>;
}

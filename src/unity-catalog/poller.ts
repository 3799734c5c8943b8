import { enqueueEvents, type PublishDeps } from '../pipeline/publish-events.js';
import { describeIssue } from '../http/validate.js';
import type { Clock } from '../shared/ids.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { publishedEventSchema } from '../webhooks/registry-event.js';
import { BudgetSpent, type UnityCatalogApi } from './api-client.js';
import { UnityCatalogFailure } from './credentials.js';
import { applyEvents, pendingEventsOf, sameState, stateOf, type PendingEvent } from './model-changes.js';
import { selectorText, type ModelSelector, type UnityCatalogSettings } from './settings.js';
import type { ModelSnapshot, RunState, SnapshotStore, SourceProblem } from './snapshot-store.js';

/** Who the audit log and the events metrics name as the publisher of Unity Catalog's events. */
export const UNITY_CATALOG_PUBLISHER = 'unity-catalog';

/** Back-off after a 429, 5xx or network failure without Retry-After: doubling from 15 s, at most 10 min. */
const BACKOFF_START_MS = 15_000;
const BACKOFF_MAX_MS = 600_000;
/** Events one snapshot's outbox holds at most (a table row holds 1 MiB). */
export const MAX_OUTBOX = 200;
/** Models read at the same time. */
const MODELS_AT_ONCE = 8;
/** Problems kept for health (the newest). */
const MAX_PROBLEMS = 50;

export interface PollerDeps {
  settings: UnityCatalogSettings;
  /** A client with a fresh request budget, one per run. */
  api: () => UnityCatalogApi;
  store: SnapshotStore;
  publish: PublishDeps;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Runs between publishing a model's events and clearing its outbox: where tests crash a poller. */
  afterPublish?: (fullName: string) => Promise<void>;
}

export interface RunSummary {
  outcome: 'pass-completed' | 'budget-spent' | 'backing-off' | 'failed';
  requests: number;
  published: number;
}

interface Run {
  deps: PollerDeps;
  api: UnityCatalogApi;
  now: number;
  problems: Map<string, SourceProblem>;
  published: number;
}

const exactName = (selector: ModelSelector): string | undefined => (selector.model === '*' ? undefined : selectorText(selector));

function report(run: Run, scope: string, failure: UnityCatalogFailure): void {
  run.problems.set(scope, { kind: failure.kind, scope, message: failure.message, at: run.now });
  run.deps.metrics.sourceProblem(UNITY_CATALOG_PUBLISHER, failure.kind);
  run.deps.log.warn(`unity catalog: ${scope}: ${failure.kind}: ${failure.message}`);
}

/** Publishes a snapshot's outbox, then empties it (if nobody moved the snapshot on meanwhile). */
async function publishOutbox(run: Run, fullName: string, snapshot: ModelSnapshot): Promise<void> {
  if (snapshot.outbox.length === 0) return;
  await enqueueEvents(
    run.deps.publish,
    { source: UNITY_CATALOG_PUBLISHER },
    snapshot.outbox.map((event) => ({ input: event, label: fullName, nameOf: (field) => field })),
  );
  run.published += snapshot.outbox.length;
  await run.deps.afterPublish?.(fullName);
  await run.deps.store.replace(fullName, { generation: snapshot.generation, state: snapshot.state, outbox: [] }, snapshot.etag);
}

/** Why an event cannot be published (a name longer than the publish path takes, say), if it cannot. */
function unpublishable(events: readonly PendingEvent[]): string | undefined {
  for (const event of events) {
    const parsed = publishedEventSchema.safeParse(event, { reportInput: true });
    if (!parsed.success) return parsed.error.issues[0] ? describeIssue(parsed.error.issues[0]) : 'invalid event';
  }
  return undefined;
}

/**
 * One model: an outbox left by a crashed run is published first; then the model is read, and a change is written as
 * the next generation with its events in the outbox (conditionally: a poller that loses the race publishes nothing),
 * and published.
 */
async function pollModel(run: Run, fullName: string, options: { baseline: boolean; exact: boolean }): Promise<void> {
  const { deps, api } = run;
  let snapshot: ModelSnapshot | undefined;
  try {
    snapshot = await deps.store.read(fullName);
  } catch (error) {
    if (error instanceof SyntaxError || /unreadable/.test(errorMessage(error))) {
      deps.log.error(`unity catalog: the snapshot of ${fullName} cannot be read (${errorMessage(error)}); the model is skipped`);
      return;
    }
    throw error;
  }
  if (snapshot && snapshot.outbox.length > 0) {
    await publishOutbox(run, fullName, snapshot);
    snapshot = await deps.store.read(fullName);
  }
  let observed;
  try {
    const details = await api.getModel(fullName);
    observed = { fullName, createdAt: details.createdAt, readyVersions: await api.readyVersions(fullName), aliases: details.aliases };
  } catch (error) {
    if (!(error instanceof UnityCatalogFailure) || error.wholeSource) throw error;
    // A listed model gone by the time it is read was deleted meanwhile: nothing to say.
    if (error.kind !== 'missing' || options.exact) report(run, fullName, error);
    return;
  }
  run.problems.delete(fullName);
  const next = stateOf(observed);
  if (snapshot && sameState(snapshot.state, next)) return;
  const generation = snapshot?.generation ?? 0;
  const silent = snapshot === undefined && options.baseline && !deps.settings.emitBaseline;
  const found = silent ? [] : pendingEventsOf(deps.settings.workspaceUrl, snapshot?.state, generation, observed, run.now);
  // A row holds at most MAX_OUTBOX events: more (a model found with thousands of versions) go out over several passes.
  const events = found.slice(0, MAX_OUTBOX);
  const problem = unpublishable(events);
  if (problem) {
    report(run, fullName, new UnityCatalogFailure('malformed', `its events cannot be published: ${problem}`));
    return;
  }
  const recorded = events.length < found.length ? applyEvents(snapshot?.state, observed.createdAt, events) : next;
  const written = { generation: generation + 1, state: recorded, outbox: events };
  const etag = snapshot ? await deps.store.replace(fullName, written, snapshot.etag) : await deps.store.create(fullName, written);
  if (etag === false) return;
  await publishOutbox(run, fullName, { ...written, etag });
}

/** One selector: its models (listed, or the one named), each after `after` in name order. Answers whether it was read whole. */
async function pollSelector(run: Run, selector: ModelSelector, options: { baseline: boolean; after: string | undefined; onModel: (name: string) => void }): Promise<boolean> {
  const scope = selectorText(selector);
  const exact = exactName(selector);
  let names: string[];
  try {
    // Only the schema asked for: a listing that strays outside it is not followed.
    const inSchema = (name: string) => name.startsWith(`${selector.catalog}.${selector.schema}.`) && name.split('.').length === 3;
    names = exact ? [exact] : [...new Set(await run.api.listModels(selector.catalog, selector.schema))].filter(inSchema).sort();
  } catch (error) {
    if (!(error instanceof UnityCatalogFailure) || error.wholeSource) throw error;
    report(run, scope, error);
    return false;
  }
  if (!exact) run.problems.delete(scope);
  const remaining = names.filter((name) => options.after === undefined || name > options.after);
  // A few models at once; the cursor moves past a group only once all of it is done, so a run stopped inside a
  // group reads it again next time (a model read twice finds no change).
  for (let start = 0; start < remaining.length; ) {
    // Each model costs two requests at least: a group never starts more than the budget left can finish.
    const group = remaining.slice(start, start + Math.min(MODELS_AT_ONCE, Math.max(1, Math.floor(run.api.remaining() / 2))));
    start += group.length;
    const outcomes = await Promise.allSettled(group.map((name) => pollModel(run, name, { baseline: options.baseline, exact: exact !== undefined })));
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    options.onModel(group.at(-1) as string);
  }
  return true;
}

const backoffOf = (failures: number): number => Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, failures - 1));

/**
 * One timer run: from where the last run stopped, every selector's models until the pass completes or the request
 * budget is spent; 429/5xx back off, credentials and missing catalogs are kept as problems for health.
 */
export async function pollUnityCatalog(deps: PollerDeps): Promise<RunSummary> {
  const now = deps.clock();
  const state = await deps.store.readRunState();
  if (state.notBefore !== undefined && state.notBefore > now) return { outcome: 'backing-off', requests: 0, published: 0 };
  const run: Run = { deps, api: deps.api(), now, problems: new Map(state.problems.map((problem) => [problem.scope, problem])), published: 0 };
  const selectors = [...deps.settings.models].sort((a, b) => selectorText(a).localeCompare(selectorText(b)));
  const baselined = new Set(state.baselined);
  const start = Math.max(0, selectors.findIndex((selector) => selectorText(selector) === state.cursor?.selector));
  let cursor: RunState['cursor'];
  let outcome: RunSummary['outcome'] = 'pass-completed';
  let failure: UnityCatalogFailure | undefined;
  try {
    for (let index = start; index < selectors.length; index += 1) {
      const selector = selectors[index] as ModelSelector;
      const scope = selectorText(selector);
      const after = index === start && state.cursor?.selector === scope ? state.cursor.after : undefined;
      cursor = { selector: scope, ...(after !== undefined ? { after } : {}) };
      const whole = await pollSelector(run, selector, { baseline: !baselined.has(scope), after, onModel: (name) => (cursor = { selector: scope, after: name }) });
      if (whole) baselined.add(scope);
    }
    cursor = undefined;
    run.problems.delete('workspace');
  } catch (error) {
    if (error instanceof BudgetSpent) outcome = 'budget-spent';
    else if (error instanceof UnityCatalogFailure) {
      outcome = 'failed';
      failure = error;
      report(run, error.kind === 'denied' ? 'credentials' : 'workspace', error);
    } else throw error;
  }
  const transient = failure !== undefined && (failure.kind === 'throttled' || failure.kind === 'unavailable');
  const failures = transient ? state.failures + 1 : 0;
  const latest = await deps.store.readRunState();
  await deps.store.writeRunState({
    ...(cursor ? { cursor } : {}),
    baselined: [...new Set([...latest.baselined, ...baselined])].sort(),
    ...(transient ? { notBefore: now + Math.max(failure?.retryAfterMs ?? 0, backoffOf(failures)) } : {}),
    failures,
    problems: [...run.problems.values()].sort((a, b) => b.at - a.at).slice(0, MAX_PROBLEMS),
    lastRunAt: now,
    ...(outcome === 'pass-completed' ? { lastPassAt: now } : state.lastPassAt !== undefined ? { lastPassAt: state.lastPassAt } : {}),
    passes: Math.max(state.passes, latest.passes) + (outcome === 'pass-completed' ? 1 : 0),
    lastRunRequests: run.api.requests,
  });
  if (outcome === 'budget-spent') deps.log.info(`unity catalog: the request budget (${run.api.requests}) is spent; the next run resumes at ${cursor?.selector ?? ''} after ${cursor?.after ?? 'its start'}`);
  return { outcome: transient ? 'backing-off' : outcome, requests: run.api.requests, published: run.published };
}

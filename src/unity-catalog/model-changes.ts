import { sha256Hex } from '../shared/ids.js';

/** What the source last recorded of one model: its identity, READY versions and aliases. */
export interface ModelState {
  /** `created_at` of the model: a model deleted and created again under its name is a new model. */
  createdAt: number | undefined;
  ready: number[];
  aliases: Record<string, number>;
}

/** A model as the API shows it now. */
export interface ObservedModel {
  fullName: string;
  createdAt: number | undefined;
  readyVersions: number[];
  aliases: Record<string, number>;
}

/** An event the source publishes, in publish form, with its id and time fixed when it was found. */
export interface PendingEvent {
  event: 'REGISTERED_MODEL_CREATED' | 'MODEL_VERSION_CREATED' | 'MODEL_VERSION_ALIAS_CREATED' | 'MODEL_VERSION_ALIAS_DELETED';
  model_name: string;
  version?: string;
  alias?: string;
  previous_version?: string;
  event_id: string;
  event_timestamp: number;
}

type Change = Omit<PendingEvent, 'event_id' | 'event_timestamp' | 'model_name'>;

/**
 * The id of a change: the workspace, the model, the change itself and the snapshot generation it replaces, never
 * the time it was seen, so every poller that finds it from that generation names it alike.
 */
export function changeEventId(workspace: string, fullName: string, generation: number, change: Change): string {
  const hash = sha256Hex(workspace, fullName, String(generation), change.event, change.version ?? '', change.alias ?? '', change.previous_version ?? '');
  return `uc:${generation}:${hash.slice(0, 40)}`;
}

function changesOf(before: ModelState | undefined, now: ObservedModel): Change[] {
  const isNew = before === undefined || before.createdAt !== now.createdAt;
  const known = new Set(isNew ? [] : before.ready);
  const previousAliases = isNew ? {} : before.aliases;
  const changes: Change[] = isNew ? [{ event: 'REGISTERED_MODEL_CREATED' }] : [];
  for (const version of now.readyVersions) if (!known.has(version)) changes.push({ event: 'MODEL_VERSION_CREATED', version: String(version) });
  for (const [alias, version] of Object.entries(now.aliases).sort(([a], [b]) => a.localeCompare(b))) {
    const previous = previousAliases[alias];
    if (previous === version) continue;
    changes.push({ event: 'MODEL_VERSION_ALIAS_CREATED', alias, version: String(version), ...(previous !== undefined ? { previous_version: String(previous) } : {}) });
  }
  for (const [alias, version] of Object.entries(previousAliases).sort(([a], [b]) => a.localeCompare(b))) {
    if (!(alias in now.aliases)) changes.push({ event: 'MODEL_VERSION_ALIAS_DELETED', alias, version: String(version) });
  }
  return changes;
}

/** The events that take a model from `before` (at `generation`) to what is observed now, in the order they are published. */
export function pendingEventsOf(workspace: string, before: ModelState | undefined, generation: number, now: ObservedModel, foundAt: number): PendingEvent[] {
  return changesOf(before, now).map((change) => ({
    ...change,
    model_name: now.fullName,
    event_id: changeEventId(workspace, now.fullName, generation, change),
    event_timestamp: foundAt,
  }));
}

/** The state `before` comes to with only `events` applied: what a snapshot records when it publishes part of a change. */
export function applyEvents(before: ModelState | undefined, createdAt: number | undefined, events: readonly PendingEvent[]): ModelState {
  const isNew = before === undefined || before.createdAt !== createdAt;
  const ready = new Set(isNew ? [] : before.ready);
  const aliases = new Map(Object.entries(isNew ? {} : before.aliases));
  for (const event of events) {
    if (event.event === 'MODEL_VERSION_CREATED') ready.add(Number(event.version));
    if (event.event === 'MODEL_VERSION_ALIAS_CREATED' && event.alias !== undefined) aliases.set(event.alias, Number(event.version));
    if (event.event === 'MODEL_VERSION_ALIAS_DELETED' && event.alias !== undefined) aliases.delete(event.alias);
  }
  return { createdAt, ready: [...ready].sort((a, b) => a - b), aliases: Object.fromEntries(aliases) };
}

export const stateOf = (model: ObservedModel): ModelState => ({ createdAt: model.createdAt, ready: model.readyVersions, aliases: model.aliases });

export const sameState = (a: ModelState, b: ModelState): boolean =>
  a.createdAt === b.createdAt && a.ready.join(',') === b.ready.join(',') && JSON.stringify(sortedEntries(a.aliases)) === JSON.stringify(sortedEntries(b.aliases));

const sortedEntries = (record: Record<string, number>) => Object.entries(record).sort(([a], [b]) => a.localeCompare(b));

/** Ascending version numbers as ranges (`1-40,42`): a model's thousands of versions fit one table property. */
export function toRanges(versions: readonly number[]): string {
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let index = 0; index < sorted.length; ) {
    const start = sorted[index] as number;
    let end = start;
    while (sorted[index + 1] === end + 1) {
      end += 1;
      index += 1;
    }
    ranges.push(start === end ? String(start) : `${start}-${end}`);
    index += 1;
  }
  return ranges.join(',');
}

export function fromRanges(text: string): number[] {
  if (text === '') return [];
  return text.split(',').flatMap((range) => {
    const [start, end = start] = range.split('-').map(Number);
    if (start === undefined || end === undefined || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) throw new Error(`unreadable version range '${range}'`);
    return Array.from({ length: end - start + 1 }, (_, offset) => start + offset);
  });
}

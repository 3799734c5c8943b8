import { TAG_FIELD } from './filter-schema.js';
import type { RegistryEvent } from './registry-event.js';
import type { FilterCondition } from './webhook.js';

/** What the event carries for a filter field: nothing, one value, or (a tag key set twice) several. */
function valuesOf(event: RegistryEvent & { alias?: string }, field: string): string[] {
  const tag = TAG_FIELD.exec(field);
  // A tag deletion names the key alone: a removed tag has no value to match.
  if (tag) return (event.tags ?? []).flatMap((entry) => (entry.key === tag[1] && entry.value !== undefined ? [entry.value] : []));
  const value = { to_stage: event.toStage, from_stage: event.fromStage, alias: event.alias, version: event.version, user_id: event.userId }[field];
  return value === undefined ? [] : [value];
}

function holds(condition: FilterCondition, present: readonly string[]): boolean {
  const values = condition.values ?? [];
  switch (condition.op) {
    case 'exists':
      return present.length > 0;
    case 'in':
      return present.some((value) => values.includes(value));
    case 'not_in':
      return present.every((value) => !values.includes(value));
    case 'prefix':
      return present.some((value) => values.some((prefix) => value.startsWith(prefix)));
  }
}

/** Whether an event passes a webhook's filter: every condition holds; an event without the field passes only `not_in`. */
export const passesFilter = (event: RegistryEvent, filter: readonly FilterCondition[] | undefined): boolean =>
  (filter ?? []).every((condition) => holds(condition, valuesOf(event, condition.field)));

import { TAG_FIELD } from './filter-schema.js';
import type { RegistryEvent } from './registry-event.js';
import type { FilterCondition } from './webhook.js';

/** What the event carries for a filter field: nothing, one value, or (a tag key set twice) several; a deleted tag has no value. */
function valuesOf(event: RegistryEvent, field: string): (string | undefined)[] {
  const tag = TAG_FIELD.exec(field);
  if (tag) return (event.tags ?? []).filter((entry) => entry.key === tag[1]).map((entry) => entry.value);
  const value = { to_stage: event.toStage, from_stage: event.fromStage, alias: event.alias, version: event.version, user_id: event.userId }[field];
  return value === undefined ? [] : [value];
}

function holds(condition: FilterCondition, present: readonly (string | undefined)[]): boolean {
  const values = condition.values ?? [];
  const inValues = (value: string | undefined): boolean => value !== undefined && values.includes(value);
  switch (condition.op) {
    case 'exists':
      return present.length > 0;
    case 'in':
      return present.some(inValues);
    case 'not_in':
      return !present.some(inValues);
    case 'prefix':
      return present.some((value) => value !== undefined && values.some((prefix) => value.startsWith(prefix)));
  }
}

/** Whether an event passes a webhook's filter: every condition holds; an event without the field passes only `not_in`. */
export const passesFilter = (event: RegistryEvent, filter: readonly FilterCondition[] | undefined): boolean =>
  (filter ?? []).every((condition) => holds(condition, valuesOf(event, condition.field)));

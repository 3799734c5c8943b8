/** The registry events (Databricks' twelve, then the alias era's three), and how the stage-specific ones relate to the generic ones. */
export const EVENT_NAMES = [
  'MODEL_VERSION_CREATED',
  'MODEL_VERSION_TRANSITIONED_STAGE',
  'TRANSITION_REQUEST_CREATED',
  'COMMENT_CREATED',
  'REGISTERED_MODEL_CREATED',
  'MODEL_VERSION_TAG_SET',
  'MODEL_VERSION_TRANSITIONED_TO_STAGING',
  'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION',
  'MODEL_VERSION_TRANSITIONED_TO_ARCHIVED',
  'TRANSITION_REQUEST_TO_STAGING_CREATED',
  'TRANSITION_REQUEST_TO_PRODUCTION_CREATED',
  'TRANSITION_REQUEST_TO_ARCHIVED_CREATED',
  'MODEL_VERSION_ALIAS_CREATED',
  'MODEL_VERSION_ALIAS_DELETED',
  'MODEL_VERSION_TAG_DELETED',
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

export type GenericStageEvent = 'MODEL_VERSION_TRANSITIONED_STAGE' | 'TRANSITION_REQUEST_CREATED';

/** Stage-specific event names by generic event and target stage. `None` has no specific event. */
const SPECIFIC_EVENTS: Record<GenericStageEvent, Partial<Record<Stage, EventName>>> = {
  MODEL_VERSION_TRANSITIONED_STAGE: {
    Staging: 'MODEL_VERSION_TRANSITIONED_TO_STAGING',
    Production: 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION',
    Archived: 'MODEL_VERSION_TRANSITIONED_TO_ARCHIVED',
  },
  TRANSITION_REQUEST_CREATED: {
    Staging: 'TRANSITION_REQUEST_TO_STAGING_CREATED',
    Production: 'TRANSITION_REQUEST_TO_PRODUCTION_CREATED',
    Archived: 'TRANSITION_REQUEST_TO_ARCHIVED_CREATED',
  },
};

const GENERIC_OF_SPECIFIC = new Map<EventName, { generic: GenericStageEvent; stage: Stage }>(
  (Object.keys(SPECIFIC_EVENTS) as GenericStageEvent[]).flatMap((generic) =>
    Object.entries(SPECIFIC_EVENTS[generic]).map(([stage, specific]) => [specific, { generic, stage: stage as Stage }] as const),
  ),
);

export const isEventName = (name: string): name is EventName => (EVENT_NAMES as readonly string[]).includes(name);

/** The generic event and stage a stage-specific name stands for, or undefined for any other event. */
export const genericOf = (event: EventName): { generic: GenericStageEvent; stage: Stage } | undefined =>
  GENERIC_OF_SPECIFIC.get(event);

export const specificEventFor = (generic: GenericStageEvent, stage: Stage): EventName | undefined => SPECIFIC_EVENTS[generic][stage];

export const isStageEvent = (event: EventName): boolean =>
  event === 'MODEL_VERSION_TRANSITIONED_STAGE' || event === 'TRANSITION_REQUEST_CREATED' || GENERIC_OF_SPECIFIC.has(event);

export type AliasEvent = 'MODEL_VERSION_ALIAS_CREATED' | 'MODEL_VERSION_ALIAS_DELETED';

export const isAliasEvent = (event: EventName): event is AliasEvent => event === 'MODEL_VERSION_ALIAS_CREATED' || event === 'MODEL_VERSION_ALIAS_DELETED';

/** Events whose payload carries `tags`: with values when set, keys only when deleted. */
export const isTagEvent = (event: EventName): boolean => event === 'MODEL_VERSION_TAG_SET' || event === 'MODEL_VERSION_TAG_DELETED';

/** The fields a published event must carry, beyond `event` and `model_name`. */
export function requiredFieldsOf(event: EventName): readonly ('version' | 'to_stage' | 'from_stage' | 'tags' | 'comment' | 'alias')[] {
  if (event === 'REGISTERED_MODEL_CREATED') return [];
  if (isStageEvent(event)) return ['version', 'to_stage', 'from_stage'];
  if (isTagEvent(event)) return ['version', 'tags'];
  if (event === 'MODEL_VERSION_ALIAS_CREATED') return ['version', 'alias'];
  if (event === 'MODEL_VERSION_ALIAS_DELETED') return ['alias'];
  if (event === 'COMMENT_CREATED') return ['version', 'comment'];
  return ['version'];
}

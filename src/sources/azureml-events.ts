import { ApiError } from '../shared/errors.js';
import { poisonMessage } from '../pipeline/poison-queues.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { QUEUES, type MessageQueue } from '../pipeline/queues.js';
import { enqueueEvents, type PublishDeps, type SourcedEvent } from '../pipeline/publish-events.js';
import { MAX_EVENTS_PER_PUBLISH } from '../webhooks/registry-event.js';
import { parseTimestamp } from './timestamps.js';
import { JsonSyntaxError, NotUtf8Error, parseJsonUtf8 } from '../http/parse-json.js';
import { definedOnly } from '../shared/defined.js';

export const MODEL_REGISTERED = 'Microsoft.MachineLearningServices.ModelRegistered';
/** Who the audit log names as the publisher, and the `source` of the events metrics. */
export const AZUREML_PUBLISHER = 'azureml';

export interface AzureMlDeps {
  publish: PublishDeps;
  /** `azureml-events-poison`. */
  poison: MessageQueue;
  log: Logger;
  metrics: Metrics;
}

type Translation = { kind: 'events'; events: SourcedEvent[]; ignored: string[] } | { kind: 'unreadable'; reason: string };

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A field in camelCase or PascalCase (`modelName` / `ModelName`, `eventType` / `EventType`): real events send
 * camelCase, the Event Grid documentation shows PascalCase, and both must work.
 */
function fieldOf(object: JsonObject, camel: string): unknown {
  const pascal = `${camel.charAt(0).toUpperCase()}${camel.slice(1)}`;
  return Object.prototype.hasOwnProperty.call(object, camel) ? object[camel] : object[pascal];
}

/**
 * One Event Grid event (either schema) into publish-path events: `ModelRegistered` is `MODEL_VERSION_CREATED`, plus
 * `REGISTERED_MODEL_CREATED` for version 1 (docs/sources.md); other types are ignored.
 */
function translateEvent(raw: unknown, at: string): { events: SourcedEvent[] } | { ignored: string } | { unreadable: string } {
  if (!isObject(raw)) return { unreadable: `${at} is not a JSON object` };
  const id = fieldOf(raw, 'id');
  const type = fieldOf(raw, 'eventType') ?? fieldOf(raw, 'type');
  if (typeof id !== 'string' || id === '' || id.length > 200) return { unreadable: `${at}.id must be a non-empty string of at most 200 characters` };
  if (typeof type !== 'string') return { unreadable: `${at} has no eventType (Event Grid schema) or type (CloudEvents)` };
  if (type !== MODEL_REGISTERED) return { ignored: type };
  const data = fieldOf(raw, 'data');
  if (!isObject(data)) return { unreadable: `${at}.data must be a JSON object` };
  const modelName = fieldOf(data, 'modelName');
  const rawVersion = fieldOf(data, 'modelVersion');
  if (typeof modelName !== 'string') return { unreadable: `${at}.data.modelName must be a string` };
  if (typeof rawVersion !== 'string' && typeof rawVersion !== 'number') return { unreadable: `${at}.data.modelVersion must be a string or a number` };
  const version = String(rawVersion);
  const time = fieldOf(raw, 'eventTime') ?? fieldOf(raw, 'time');
  const timestamp = typeof time === 'string' ? parseTimestamp(time) : time === undefined ? undefined : null;
  if (timestamp === null) return { unreadable: `${at}.eventTime must be an RFC 3339 timestamp` };
  const common = { model_name: modelName, ...definedOnly({ event_timestamp: timestamp }) };
  const names: Record<string, string> = { model_name: `${at}.data.modelName`, version: `${at}.data.modelVersion`, event_id: `${at}.id`, event_timestamp: `${at}.eventTime` };
  const nameOf = (field: string) => names[field] ?? `${at}.${field}`;
  const versionCreated: SourcedEvent = { input: { ...common, event: 'MODEL_VERSION_CREATED', version, event_id: `azureml:${id}` }, label: at, nameOf };
  const modelCreated: SourcedEvent = { input: { ...common, event: 'REGISTERED_MODEL_CREATED', event_id: `azureml:${id}:registered-model` }, label: at, nameOf };
  return { events: version === '1' ? [modelCreated, versionCreated] : [versionCreated] };
}

/** A queue message holds one event or an array of them (Event Grid writes one per message). */
export function translateAzureMlMessage(message: unknown): Translation {
  if (typeof message === 'string') return { kind: 'unreadable', reason: 'not JSON' };
  const batch = Array.isArray(message);
  const raws: unknown[] = batch ? message : [message];
  if (raws.length === 0 || raws.length > MAX_EVENTS_PER_PUBLISH) return { kind: 'unreadable', reason: `an array must hold 1 to ${MAX_EVENTS_PER_PUBLISH} events` };
  const events: SourcedEvent[] = [];
  const ignored: string[] = [];
  for (const [index, raw] of raws.entries()) {
    const result = translateEvent(raw, batch ? `[${index}]` : 'event');
    if ('unreadable' in result) return { kind: 'unreadable', reason: result.unreadable };
    if ('ignored' in result) ignored.push(result.ignored);
    else events.push(...result.events);
  }
  return { kind: 'events', events, ignored };
}

/**
 * The message as the HTTP endpoints read a body: its bytes as queued (the trigger is binary) by the strict parser,
 * so a duplicate key or deep nesting is refused, never resolved as JSON.parse would. The reason says "not JSON" and
 * where, as the registry-events poison path does: a queue message has no request body.
 */
function readStrictly(message: unknown): { value: unknown; text?: string } | { problem: string; text?: string } {
  if (!(message instanceof Uint8Array)) return { value: message };
  const text = Buffer.from(message).toString('utf8');
  try {
    return { value: parseJsonUtf8(message), text };
  } catch (error) {
    if (error instanceof NotUtf8Error || error instanceof JsonSyntaxError) return { problem: `not JSON: ${error.message}`, text };
    throw error;
  }
}

/**
 * `azureml-events`: publishes `ModelRegistered` through the one publish path. An unreadable or refused message is
 * poisoned whole; storage trouble is thrown, so the host retries it.
 */
export async function processAzureMlMessage(deps: AzureMlDeps, message: unknown): Promise<void> {
  const read = readStrictly(message);
  const queued = read.text ?? message;
  if ('problem' in read) return poisonUnreadable(deps, queued, read.problem);
  const translated = translateAzureMlMessage(read.value);
  if (translated.kind === 'unreadable') return poisonUnreadable(deps, queued, translated.reason);
  for (const type of translated.ignored) deps.log.info(`azureml-events: ignored an event of type ${type.slice(0, 200)}; only ${MODEL_REGISTERED} is published`);
  if (translated.ignored.length > 0) deps.metrics.eventsIgnored(translated.ignored.length, AZUREML_PUBLISHER, 'unmapped_event');
  if (translated.events.length === 0) return;
  try {
    const ids = await enqueueEvents(deps.publish, { source: AZUREML_PUBLISHER }, translated.events);
    deps.log.info(`azureml-events: published ${ids.join(', ')}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) return poisonUnreadable(deps, queued, error.message);
    throw error;
  }
}

const poisonUnreadable = (deps: AzureMlDeps, message: unknown, reason: string): Promise<void> =>
  poisonMessage(deps, { from: QUEUES.azureMlEvents, poison: deps.poison }, typeof message === 'string' ? message : JSON.stringify(message), reason);

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { eventSchemaPath } from '../../src/functions/openapi-functions.js';
import { eventJsonSchema, eventOfFile, examplePublishBody, SCHEMA_KINDS } from '../../src/openapi/event-schemas.js';
import { buildPayload } from '../../src/outbound/payload.js';
import { EVENT_NAMES, type EventName } from '../../src/webhooks/events.js';
import { normalizeEvent, publishedEventSchema } from '../../src/webhooks/registry-event.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
const compile = (kind: (typeof SCHEMA_KINDS)[number], event: EventName) => ajv.compile(eventJsonSchema(kind, event, (k, e) => `http://localhost${eventSchemaPath(k, e)}`));
const validators = Object.fromEntries(SCHEMA_KINDS.map((kind) => [kind, Object.fromEntries(EVENT_NAMES.map((event) => [event, compile(kind, event)]))])) as Record<
  (typeof SCHEMA_KINDS)[number],
  Record<EventName, ReturnType<typeof compile>>
>;

/** The publish body of the example with some fields left out. */
const without = (body: Record<string, unknown>, fields: readonly string[]) => Object.fromEntries(Object.entries(body).filter(([key]) => !fields.includes(key)));
const subsets = <T>(items: readonly T[]): T[][] => items.reduce<T[][]>((all, item) => [...all, ...all.map((subset) => [...subset, item])], [[]]);

describe('event schemas: one per event, for the delivered payload and the publish body', () => {
  it('each is a JSON Schema 2020-12 whose example it accepts', () => {
    for (const kind of SCHEMA_KINDS) {
      for (const event of EVENT_NAMES) {
        const schema = eventJsonSchema(kind, event, (k, e) => eventSchemaPath(k, e));
        assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
        assert.equal(schema.$id, `/api/schemas/${kind}/${event}.json`);
        const validate = validators[kind][event];
        assert.equal(validate((schema.examples as unknown[])[0]), true, `${kind}/${event}: ${JSON.stringify(validate.errors)}`);
      }
    }
  });

  it('the publish schema accepts exactly what the publish call accepts, field by field, for every event', () => {
    const optionalOrRequired = ['version', 'to_stage', 'from_stage', 'tags', 'comment', 'alias', 'previous_version'];
    let cases = 0;
    for (const event of EVENT_NAMES) {
      const tags = event === 'MODEL_VERSION_TAG_DELETED' ? [{ key: 'k' }] : [{ key: 'k', value: 'v' }];
      const full = { version: '3', from_stage: 'None', comment: 'c', alias: 'champion', previous_version: '2', ...examplePublishBody(event), tags };
      for (const left of subsets(optionalOrRequired)) {
        const body = without(full, left);
        const handler = publishedEventSchema.safeParse(body).success;
        assert.equal(validators.publish[event](body), handler, `${event} without ${left.join(', ') || 'nothing'}: the handler ${handler ? 'accepts' : 'refuses'} it`);
        cases += 1;
      }
      const lean = without(full, ['alias', 'previous_version', 'tags', 'comment']);
      for (const bad of [{ event: 'NOT_AN_EVENT' }, { model_name: 42 }, { surprise: true }, { version: 'one' }, { version: 0 }, { tags: [{ key: '' }] }]) {
        assert.equal(validators.publish[event]({ ...lean, ...bad }), false, `${event} with ${JSON.stringify(bad)}`);
        assert.equal(publishedEventSchema.safeParse({ ...lean, ...bad }).success, false);
      }
    }
    assert.equal(cases, EVENT_NAMES.length * 2 ** optionalOrRequired.length);
  });

  it('what a valid publish body becomes on the wire matches the event schema, for every event a webhook can subscribe to', () => {
    for (const event of EVENT_NAMES) {
      const published = normalizeEvent(publishedEventSchema.parse({ ...examplePublishBody(event), user_id: 'someone@example.com' }), { eventId: 'e1', now: 1_764_410_400_000, publishedBy: 'test' });
      const payload = JSON.parse(buildPayload(published, 'a'.repeat(32), event)) as unknown;
      assert.equal(validators.events[event](payload), true, `${event}: ${JSON.stringify(validators.events[event].errors)}`);
      assert.equal(validators.events[event]({ ...(payload as object), surprise: 1 }), false, 'a field the schema does not state fails');
    }
  });

  it('a payload of one event does not pass as another', () => {
    const payload = JSON.parse(buildPayload(normalizeEvent(publishedEventSchema.parse(examplePublishBody('COMMENT_CREATED')), { eventId: 'e', now: 1, publishedBy: 't' }), 'a'.repeat(32), 'COMMENT_CREATED')) as unknown;
    assert.equal(validators.events.COMMENT_CREATED(payload), true);
    assert.equal(validators.events.MODEL_VERSION_CREATED(payload), false);
  });

  it('file names: <EVENT>.json of a known event only', () => {
    assert.equal(eventOfFile('MODEL_VERSION_CREATED.json'), 'MODEL_VERSION_CREATED');
    for (const file of ['MODEL_VERSION_CREATED', 'model_version_created.json', 'NOPE.json', '../MODEL_VERSION_CREATED.json', 'MODEL_VERSION_CREATED.json.bak', 'constructor.json', '__proto__.json']) {
      assert.equal(eventOfFile(file), undefined, file);
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPayload } from '../../src/outbound/payload.js';
import { eventText } from '../../src/outbound/event-text.js';
import { normalizeEvent, publishedEventSchema, type RegistryEvent } from '../../src/webhooks/registry-event.js';

const base: RegistryEvent = { eventId: 'e', idSupplied: true, event: 'MODEL_VERSION_TRANSITIONED_STAGE', modelName: 'someModel', version: '8', toStage: 'Production', fromStage: 'None', eventTimestamp: 1589859029343, publishedBy: 'p' };

describe('payloads', () => {
  it('match the reference doc for a stage transition, field for field and in order', () => {
    const payload = buildPayload(base, 'c5596721253c4b429368cf6f4341b88a', 'MODEL_VERSION_TRANSITIONED_STAGE');
    assert.equal(
      payload,
      JSON.stringify({
        event: 'MODEL_VERSION_TRANSITIONED_STAGE',
        webhook_id: 'c5596721253c4b429368cf6f4341b88a',
        event_timestamp: 1589859029343,
        model_name: 'someModel',
        version: '8',
        to_stage: 'Production',
        from_stage: 'None',
        text: "Registered model 'someModel' version 8 transitioned from None to Production.",
      }),
    );
  });

  it('carry tags, comment and user as the doc shows, and no version for REGISTERED_MODEL_CREATED', () => {
    const tags = JSON.parse(buildPayload({ ...base, event: 'MODEL_VERSION_TAG_SET', toStage: undefined, fromStage: undefined, userId: 'example@yourdomain.com', tags: [{ key: 'key1', value: 'value1' }, { key: 'key2', value: 'value2' }] }, 'w', 'MODEL_VERSION_TAG_SET')) as Record<string, unknown>;
    assert.deepEqual(tags.tags, [{ key: 'key1', value: 'value1' }, { key: 'key2', value: 'value2' }]);
    assert.equal(tags.text, "example@yourdomain.com set version tag(s) 'key1' => 'value1', 'key2' => 'value2' for registered model 'someModel' version 8.");
    assert.equal(tags.to_stage, undefined);
    const comment = JSON.parse(buildPayload({ eventId: 'e', idSupplied: true, event: 'COMMENT_CREATED', modelName: 'someModel', version: '8', comment: 'Raw text content of the comment', eventTimestamp: 1, publishedBy: 'p' }, 'w', 'COMMENT_CREATED')) as Record<string, unknown>;
    assert.equal(comment.comment, 'Raw text content of the comment');
    assert.equal(comment.text, "A user commented on registered model 'someModel' version 8.");
    const created = JSON.parse(buildPayload({ eventId: 'e', idSupplied: true, event: 'REGISTERED_MODEL_CREATED', modelName: 'M', version: '3', eventTimestamp: 1, publishedBy: 'p' }, 'w', 'REGISTERED_MODEL_CREATED')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(created), ['event', 'webhook_id', 'event_timestamp', 'model_name', 'text']);
  });

  it('carry the specific name when that is what the webhook subscribed to', () => {
    assert.equal((JSON.parse(buildPayload(base, 'w', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION')) as { event: string }).event, 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION');
  });

  it('keep a publisher-given text, and make generated text one Slack-safe line', () => {
    assert.equal((JSON.parse(buildPayload({ ...base, text: 'custom' }, 'w', 'MODEL_VERSION_TRANSITIONED_STAGE')) as { text: string }).text, 'custom');
    const text = eventText({ ...base, modelName: 'evil\n<!channel> & co' });
    assert.equal(text, "Registered model 'evil &lt;!channel&gt; &amp; co' version 8 transitioned from None to Production.");
  });
});

describe('published events', () => {
  it('fold a specific stage event into the generic name and its stage', () => {
    const parsed = publishedEventSchema.parse({ event: 'MODEL_VERSION_TRANSITIONED_TO_STAGING', model_name: 'M', version: 3, from_stage: 'None' });
    const event = normalizeEvent(parsed, { eventId: 'id', now: 5, publishedBy: 'p' });
    assert.equal(event.event, 'MODEL_VERSION_TRANSITIONED_STAGE');
    assert.equal(event.toStage, 'Staging');
    assert.equal(event.version, '3');
    assert.equal(event.eventTimestamp, 5);
  });

  it('require the fields of each event type', () => {
    const fails = (input: unknown, field: string) => {
      const result = publishedEventSchema.safeParse(input);
      assert.ok(!result.success, JSON.stringify(input));
      assert.ok(result.error.issues.some((issue) => issue.path[0] === field), `${field} in ${JSON.stringify(result.error.issues)}`);
    };
    fails({ event: 'MODEL_VERSION_CREATED', model_name: 'M' }, 'version');
    fails({ event: 'MODEL_VERSION_TRANSITIONED_STAGE', model_name: 'M', version: '1', from_stage: 'None' }, 'to_stage');
    fails({ event: 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', model_name: 'M', version: '1', to_stage: 'Staging', from_stage: 'None' }, 'to_stage');
    fails({ event: 'MODEL_VERSION_TAG_SET', model_name: 'M', version: '1' }, 'tags');
    fails({ event: 'COMMENT_CREATED', model_name: 'M', version: '1' }, 'comment');
    fails({ event: 'NOPE', model_name: 'M' }, 'event');
    fails({ event: 'REGISTERED_MODEL_CREATED' }, 'model_name');
    fails({ event: 'REGISTERED_MODEL_CREATED', model_name: 'M', to_stage: 'Prod' }, 'to_stage');
    fails({ event: 'REGISTERED_MODEL_CREATED', model_name: 'M', event_id: 'has space' }, 'event_id');
    assert.ok(publishedEventSchema.safeParse({ event: 'REGISTERED_MODEL_CREATED', model_name: 'M' }).success);
  });
});

describe('alias-era events', () => {
  const event = (fields: Partial<RegistryEvent>): RegistryEvent => ({ eventId: 'e', idSupplied: true, event: 'MODEL_VERSION_ALIAS_CREATED', modelName: 'fraud', eventTimestamp: 7, publishedBy: 'p', ...fields });
  const payload = (fields: Partial<RegistryEvent>) => JSON.parse(buildPayload(event(fields), 'w', event(fields).event)) as Record<string, unknown>;

  it('carry their fields in order, and say what happened in one line', () => {
    const moved = payload({ version: '4', alias: 'champion', previousVersion: '3' });
    assert.deepEqual(Object.keys(moved), ['event', 'webhook_id', 'event_timestamp', 'model_name', 'version', 'alias', 'previous_version', 'text']);
    assert.equal(moved.text, "Alias 'champion' of registered model 'fraud' moved from version 3 to version 4.");
    assert.equal(payload({ version: '4', alias: 'champion' }).text, "Alias 'champion' of registered model 'fraud' was set to version 4.");
    assert.equal(payload({ version: '4', alias: 'champion', userId: 'ana@example.com' }).text, "ana@example.com set alias 'champion' of registered model 'fraud' to version 4.");
    const removed = payload({ event: 'MODEL_VERSION_ALIAS_DELETED', alias: 'champion' });
    assert.deepEqual(Object.keys(removed), ['event', 'webhook_id', 'event_timestamp', 'model_name', 'alias', 'text']);
    assert.equal(removed.text, "Alias 'champion' was removed from registered model 'fraud'.");
    assert.equal(payload({ event: 'MODEL_VERSION_ALIAS_DELETED', alias: 'champion', version: '4' }).text, "Alias 'champion' was removed from version 4 of registered model 'fraud'.");
    const untagged = payload({ event: 'MODEL_VERSION_TAG_DELETED', version: '4', tags: [{ key: 'approved' }] });
    assert.deepEqual(untagged.tags, [{ key: 'approved' }]);
    assert.equal(untagged.text, "Tag 'approved' was removed from version 4 of registered model 'fraud'.");
    assert.equal(payload({ event: 'MODEL_VERSION_TAG_DELETED', version: '4', tags: [{ key: 'a' }, { key: 'b<' }] }).text, "Tags 'a', 'b&lt;' were removed from version 4 of registered model 'fraud'.");
  });

  it('validate their fields, naming the field', () => {
    const problem = (input: Record<string, unknown>) => {
      const result = publishedEventSchema.safeParse({ model_name: 'fraud', ...input });
      return result.success ? 'accepted' : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    };
    assert.equal(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4', alias: 'champion', previous_version: 3 }), 'accepted');
    assert.equal(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4', alias: 'chämpion-2_b' }), 'accepted', "MLflow's rule is Python's \\w");
    assert.equal(problem({ event: 'MODEL_VERSION_ALIAS_DELETED', alias: 'champion' }), 'accepted');
    assert.equal(problem({ event: 'MODEL_VERSION_TAG_DELETED', version: '4', tags: [{ key: 'approved' }] }), 'accepted');
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4' }), /^alias: required/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', alias: 'champion' }), /^version: required/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_DELETED' }), /^alias: required/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4', alias: 'has space' }), /^alias: must be 1 to 255/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4', alias: 'a'.repeat(256) }), /^alias: must be 1 to 255/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4', alias: 'champion', previous_version: '4' }), /^previous_version: must differ/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_CREATED', version: '4', alias: 'champion', previous_version: 'x' }), /^previous_version: must be a positive integer/);
    assert.match(problem({ event: 'MODEL_VERSION_ALIAS_DELETED', alias: 'champion', previous_version: '3' }), /^previous_version: is only for MODEL_VERSION_ALIAS_CREATED/);
    assert.match(problem({ event: 'MODEL_VERSION_CREATED', version: '4', alias: 'champion' }), /^alias: is only for/);
    assert.match(problem({ event: 'MODEL_VERSION_TAG_DELETED', version: '4' }), /^tags: required/);
    assert.match(problem({ event: 'MODEL_VERSION_TAG_DELETED', version: '4', tags: [{ key: 'k', value: 'v' }] }), /^tags\.0\.value: is not allowed/);
    assert.match(problem({ event: 'MODEL_VERSION_TAG_SET', version: '4', tags: [{ key: 'k' }] }), /^tags\.0\.value: required/);
  });
});

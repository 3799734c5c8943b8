import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_MLFLOW_ALIAS_STAGES, loadConfig, SETTINGS } from '../../src/config/config.js';
import { parseAliasStages as parseStages } from '../../src/sources/mlflow-alias-stages.js';
import { ApiError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { noopMetrics } from '../../src/telemetry/metrics.js';
import { processAzureMlMessage } from '../../src/sources/azureml-events.js';
import { publishCloudEvents } from '../../src/sources/cloudevents.js';
import { translateMlflowWebhook } from '../../src/sources/mlflow-events.js';
import { ingestMlflowWebhook } from '../../src/sources/mlflow-ingest.js';
import { verifyMlflowSignature } from '../../src/sources/mlflow-signature.js';
import { parseTimestamp } from '../../src/sources/timestamps.js';
import { ManualClock, MemoryQueue } from '../support/memory.js';
import { publisher } from '../support/deps.js';
import { eventGridEvent } from '../support/event-grid.js';
import { mlflowDelivery, mlflowSignature, MLFLOW_TEST_PAYLOADS, pythonJsonDumps } from '../support/mlflow-sender.js';

/** The parser as the app calls it, naming its setting. */
const parseAliasStages = (raw: string) => parseStages(raw, SETTINGS.mlflowAliasStages);

interface Vector {
  secret: string;
  delivery_id: string;
  timestamp: string;
  body: string;
  signature: string;
}
const { vectors } = JSON.parse(readFileSync(new URL('../data/mlflow-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };
const SECRET = 'mlflow-secret-0123456789';
const stages = parseAliasStages(DEFAULT_MLFLOW_ALIAS_STAGES);

const rejects = async (promise: Promise<unknown>, code: string, message: RegExp) =>
  assert.rejects(promise, (error: unknown) => error instanceof ApiError && error.code === code && message.test(error.message));

describe('MLflow signatures', () => {
  it('the test sender and the verifier agree with the vectors computed by Python', () => {
    for (const vector of vectors) {
      assert.equal(mlflowSignature(vector.secret, vector.delivery_id, vector.timestamp, vector.body), vector.signature);
      const request = { deliveryId: vector.delivery_id, timestamp: vector.timestamp, signature: vector.signature, body: Buffer.from(vector.body, 'utf8') };
      assert.equal(verifyMlflowSignature(request, [vector.secret], Number(vector.timestamp) * 1000), undefined);
      assert.equal(verifyMlflowSignature(request, ['other-secret-0123456789', vector.secret], Number(vector.timestamp) * 1000 + 299_000), undefined, 'any configured secret');
      assert.match(verifyMlflowSignature(request, ['other-secret-0123456789'], Number(vector.timestamp) * 1000) ?? '', /does not match/);
      assert.match(verifyMlflowSignature(request, [vector.secret], Number(vector.timestamp) * 1000 + 301_000) ?? '', /more than 5 minutes/);
      assert.match(verifyMlflowSignature(request, [vector.secret], Number(vector.timestamp) * 1000 - 301_000) ?? '', /more than 5 minutes/);
      const tampered = { ...request, body: Buffer.from(vector.body.replace('created', 'deleted'), 'utf8') };
      assert.match(verifyMlflowSignature(tampered, [vector.secret], Number(vector.timestamp) * 1000) ?? '', /does not match/);
    }
  });

  it("the sender's body is Python's json.dumps", () => {
    assert.equal(pythonJsonDumps({ name: 'modèle', tags: {}, description: null }), '{"name": "mod\\u00e8le", "tags": {}, "description": null}');
  });

  it('refuses malformed headers', () => {
    const body = Buffer.from('{}');
    const at = 1_764_415_200_000;
    assert.match(verifyMlflowSignature({ deliveryId: 'd', timestamp: 'now', signature: 'v1,x', body }, [SECRET], at) ?? '', /unix seconds/);
    assert.match(verifyMlflowSignature({ deliveryId: 'd', timestamp: '1764415200', signature: 'sha256=abc', body }, [SECRET], at) ?? '', /v1,<base64/);
    assert.match(verifyMlflowSignature({ deliveryId: 'd', timestamp: '1764415200', signature: 'v1,c2hvcnQ=', body }, [SECRET], at) ?? '', /v1,<base64/);
  });

  it('takes only canonical base64 signatures, also from a repeated header joined with a comma', () => {
    const [vector] = vectors;
    if (!vector) throw new Error('no vector');
    const at = Number(vector.timestamp) * 1000;
    const check = (signature: string) => verifyMlflowSignature({ deliveryId: vector.delivery_id, timestamp: vector.timestamp, signature, body: Buffer.from(vector.body, 'utf8') }, [vector.secret], at);
    assert.equal(check(`${vector.signature}, v1,AAAA`), undefined, 'two X-MLflow-Signature headers arrive joined with ", "');
    assert.equal(check(`v1,AAAA, ${vector.signature}`), undefined);
    // Node's base64 decoder skips what is not base64: the same MAC must not be accepted under other spellings.
    for (const variant of [`${vector.signature}garbage!`, `${vector.signature}AAAA`, vector.signature.replace(/=$/, ''), `${vector.signature.slice(0, 10)}*${vector.signature.slice(10)}`]) {
      assert.match(check(variant) ?? '(accepted)', /v1,<base64|does not match/, variant);
    }
    // The last character before '=' carries two unused bits: three other spellings decode to the same 32 bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(vector.signature.at(-2) ?? '');
    for (const bits of [1, 2, 3]) {
      const variant = `${vector.signature.slice(0, -2)}${alphabet[last | bits] ?? ''}=`;
      assert.match(check(variant) ?? '(accepted)', /v1,<base64/, variant);
    }
  });
});

describe('MLflow mapping', () => {
  const at = '2025-11-29T11:20:00.123456+00:00';
  const translate = (entity: string, action: string, data: Record<string, unknown>) =>
    translateMlflowWebhook({ entity, action, timestamp: at, data }, 'd-1', stages);
  const inputOf = (translation: ReturnType<typeof translate>) => (translation.kind === 'events' ? translation.events.map((event) => event.input) : translation.why);

  it('maps the events, with event_id mlflow:<delivery id> and the body timestamp', () => {
    const common = { event_id: 'mlflow:d-1', event_timestamp: 1_764_415_200_123 };
    assert.deepEqual(inputOf(translate('registered_model', 'created', { name: 'm', tags: {}, description: null })), [{ ...common, model_name: 'm', event: 'REGISTERED_MODEL_CREATED' }]);
    assert.deepEqual(inputOf(translate('model_version', 'created', { name: 'm', version: '3', source: 's', run_id: null, tags: {}, description: null })), [
      { ...common, model_name: 'm', event: 'MODEL_VERSION_CREATED', version: '3' },
    ]);
    assert.deepEqual(inputOf(translate('model_version_tag', 'set', { name: 'm', version: '3', key: 'k', value: 'v' })), [
      { ...common, model_name: 'm', event: 'MODEL_VERSION_TAG_SET', version: '3', tags: [{ key: 'k', value: 'v' }] },
    ]);
    assert.deepEqual(inputOf(translate('model_version_tag', 'deleted', { name: 'm', version: '3', key: 'k' })), [
      { ...common, model_name: 'm', event: 'MODEL_VERSION_TAG_DELETED', version: '3', tags: [{ key: 'k' }] },
    ]);
    assert.deepEqual(inputOf(translate('model_version_alias', 'deleted', { name: 'm', alias: 'Champion' })), [{ ...common, model_name: 'm', event: 'MODEL_VERSION_ALIAS_DELETED', alias: 'Champion' }]);
  });

  it('an alias always becomes the native alias event, and one in MLFLOW_ALIAS_STAGES also the stage event under its own id', () => {
    const common = { event_timestamp: 1_764_415_200_123, model_name: 'm', version: '3' };
    assert.deepEqual(inputOf(translate('model_version_alias', 'created', { name: 'm', alias: 'Champion', version: '3' })), [
      { ...common, event_id: 'mlflow:d-1', event: 'MODEL_VERSION_ALIAS_CREATED', alias: 'Champion' },
      { ...common, event_id: 'mlflow:d-1:stage', event: 'MODEL_VERSION_TRANSITIONED_STAGE', to_stage: 'Production', from_stage: 'None' },
    ]);
    assert.deepEqual(inputOf(translate('model_version_alias', 'created', { name: 'm', alias: 'canary', version: '3' })), [
      { ...common, event_id: 'mlflow:d-1', event: 'MODEL_VERSION_ALIAS_CREATED', alias: 'canary' },
    ]);
  });

  it('ignores other events, and the test payloads of every mapped event', () => {
    for (const [entity, action] of [['prompt', 'created'], ['prompt_alias', 'created'], ['budget_policy', 'exceeded'], ['something', 'new']]) {
      assert.match(String(inputOf(translate(entity ?? '', action ?? '', { name: 'm' }))), /has no registry-webhooks equivalent/);
    }
    assert.equal(Object.keys(MLFLOW_TEST_PAYLOADS).length, 6, 'all six of mlflow/webhooks/types.py');
    for (const [name, data] of Object.entries(MLFLOW_TEST_PAYLOADS)) {
      const [entity, action] = name.split('.');
      assert.equal(translate(entity ?? '', action ?? '', data).kind, 'ignored', name);
    }
    assert.equal(translate('model_version', 'created', { ...MLFLOW_TEST_PAYLOADS['model_version.created'], name: 'real' }).kind, 'events', 'only the exact example');
  });

  it('names the MLflow field of a body it cannot read', () => {
    assert.throws(() => translateMlflowWebhook({ entity: 'model_version', action: 'created', timestamp: 'yesterday', data: {} }, 'd', stages), /'timestamp'/);
    assert.throws(() => translateMlflowWebhook({ entity: 'model_version', action: 'created', timestamp: at, data: [] }, 'd', stages), /'data'/);
    assert.throws(() => translateMlflowWebhook({ action: 'created', timestamp: at, data: {} }, 'd', stages), /'entity'/);
    assert.throws(() => translateMlflowWebhook(null, 'd', stages), /'body'/, 'a signed body of JSON null');
  });

  it('alias stages are read case-insensitively and a bad entry names the setting', () => {
    assert.equal(parseAliasStages('Blue:production').get('blue'), 'Production');
    assert.throws(() => parseAliasStages('blue:Live'), /MLFLOW_ALIAS_STAGES/);
    assert.throws(() => loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: Buffer.alloc(32).toString('base64'), MLFLOW_WEBHOOK_SECRETS: 'short' }), /MLFLOW_WEBHOOK_SECRETS/);
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: Buffer.alloc(32).toString('base64'), MLFLOW_WEBHOOK_SECRETS: `${SECRET}, second-secret-0123456789` });
    assert.deepEqual(config.mlflow?.secrets, [SECRET, 'second-secret-0123456789']);
  });
});

describe('MLflow ingest through the publish path', () => {
  const setup = () => {
    const queue = new MemoryQueue();
    const clock = new ManualClock(Date.now());
    const deps = { publish: { eventQueue: queue, clock: clock.read }, config: { secrets: [SECRET], aliasStages: stages }, log: silentLogger, metrics: noopMetrics };
    const call = (delivery: { headers: Record<string, string>; body: string }) =>
      ingestMlflowWebhook(deps, (name) => delivery.headers[name] ?? null, () => Promise.resolve(Buffer.from(delivery.body)));
    return { queue, deps, call };
  };

  it('enqueues a signed event and answers its id; refuses unsigned, stale and tampered ones with nothing enqueued', async () => {
    const { queue, call } = setup();
    const delivery = mlflowDelivery(SECRET, 'model_version', 'created', { name: 'm', version: '2' });
    assert.deepEqual(await call(delivery), { event_ids: [`mlflow:${delivery.deliveryId}`] });
    assert.equal(queue.drain().length, 1);
    const { ['x-mlflow-signature']: _signature, ...unsigned } = delivery.headers;
    await rejects(call({ ...delivery, headers: unsigned }), 'UNAUTHENTICATED', /missing header x-mlflow-signature/);
    await rejects(call({ ...delivery, body: delivery.body.replace('"2"', '"3"') }), 'UNAUTHENTICATED', /does not match/);
    const stale = mlflowDelivery(SECRET, 'model_version', 'created', { name: 'm', version: '2' }, { timestamp: String(Math.floor(Date.now() / 1000) - 400) });
    await rejects(call(stale), 'UNAUTHENTICATED', /more than 5 minutes/);
    assert.equal(queue.drain().length, 0);
  });

  it('refuses a charset other than UTF-8, as every other path does, and takes any media type', async () => {
    const { queue, call } = setup();
    const delivery = () => mlflowDelivery(SECRET, 'model_version', 'created', { name: 'm', version: '2' });
    for (const contentType of ['application/json; charset=latin1', 'application/json; charset="iso-8859-1"', 'text/plain;charset=utf-16']) {
      const sent = delivery();
      await rejects(call({ ...sent, headers: { ...sent.headers, 'content-type': contentType } }), 'MALFORMED_REQUEST', /charset/);
    }
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'text/plain; charset="UTF-8"']) {
      const sent = delivery();
      assert.deepEqual(await call({ ...sent, headers: { ...sent.headers, 'content-type': contentType } }), { event_ids: [`mlflow:${sent.deliveryId}`] });
    }
    assert.equal(queue.drain().length, 3);
  });

  it('is off without secrets, and validates mapped events with MLflow field names', async () => {
    const { deps, call } = setup();
    await rejects(ingestMlflowWebhook({ ...deps, config: undefined }, () => null, () => Promise.resolve(Buffer.alloc(0))), 'ENDPOINT_NOT_FOUND', /MLFLOW_WEBHOOK_SECRETS/);
    await rejects(call(mlflowDelivery(SECRET, 'model_version', 'created', { name: 'm', version: 'abc' })), 'INVALID_PARAMETER_VALUE', /'data.version'/);
    await rejects(call(mlflowDelivery(SECRET, 'model_version_tag', 'set', { name: 'm', version: '1', key: 'k' })), 'INVALID_PARAMETER_VALUE', /'data.value'/);
    await rejects(call(mlflowDelivery(SECRET, 'registered_model', 'created', { name: 'x'.repeat(300) })), 'INVALID_PARAMETER_VALUE', /'data.name'/);
    await rejects(call(mlflowDelivery(SECRET, 'model_version_alias', 'created', { name: 'm', version: '1', alias: 'no spaces' })), 'INVALID_PARAMETER_VALUE', /'data.alias'/);
    await rejects(call(mlflowDelivery(SECRET, 'model_version_alias', 'deleted', { name: 'm' })), 'INVALID_PARAMETER_VALUE', /'data.alias'/);
    await rejects(call(mlflowDelivery(SECRET, 'model_version_tag', 'deleted', { name: 'm', version: '1' })), 'INVALID_PARAMETER_VALUE', /'data.key'/);
  });

  it('enqueues both events of a mapped alias in one message, answering both ids', async () => {
    const { queue, call } = setup();
    const delivery = mlflowDelivery(SECRET, 'model_version_alias', 'created', { name: 'm', alias: 'champion', version: '2' });
    assert.deepEqual(await call(delivery), { event_ids: [`mlflow:${delivery.deliveryId}`, `mlflow:${delivery.deliveryId}:stage`] });
    assert.deepEqual(queue.drain().flatMap((message) => (message.body as { events: { event: string }[] }).events.map((event) => event.event)), ['MODEL_VERSION_ALIAS_CREATED', 'MODEL_VERSION_TRANSITIONED_STAGE']);
  });
});

describe('CloudEvents translation', () => {
  const event = { specversion: '1.0', id: 'ce-1', source: '/registry', type: 'MODEL_VERSION_CREATED', time: '2025-11-29T10:00:00.5Z', data: { model_name: 'm', version: 4 } };

  it('maps id, type, time and data onto one publish-path event', async () => {
    const queue = new MemoryQueue();
    const deps = { eventQueue: queue, clock: new ManualClock().read };
    assert.deepEqual(await publishCloudEvents(deps, publisher, event, false), { event_ids: ['ce-1'] });
    const [message] = queue.drain();
    assert.deepEqual((message?.body as { events: unknown[] }).events, [{ event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '4', event_timestamp: Date.parse('2025-11-29T10:00:00.500Z'), event_id: 'ce-1' }]);
  });

  it('takes the alias-era events, validating their data fields', async () => {
    const queue = new MemoryQueue();
    const deps = { eventQueue: queue, clock: new ManualClock().read };
    const moved = { ...event, id: 'ce-alias', type: 'MODEL_VERSION_ALIAS_CREATED', data: { model_name: 'm', version: '4', alias: 'champion', previous_version: '3' } };
    assert.deepEqual(await publishCloudEvents(deps, publisher, moved, false), { event_ids: ['ce-alias'] });
    assert.deepEqual((queue.drain()[0]?.body as { events: Record<string, unknown>[] }).events[0], { event: 'MODEL_VERSION_ALIAS_CREATED', model_name: 'm', version: '4', alias: 'champion', previous_version: '3', event_timestamp: Date.parse('2025-11-29T10:00:00.500Z'), event_id: 'ce-alias' });
    await rejects(publishCloudEvents(deps, publisher, { ...moved, data: { model_name: 'm', version: '4' } }, false), 'INVALID_PARAMETER_VALUE', /'data.alias'/);
    await rejects(publishCloudEvents(deps, publisher, { ...moved, type: 'MODEL_VERSION_TAG_DELETED', data: { model_name: 'm', version: '4', tags: [{ key: 'k', value: 'v' }] } }, false), 'INVALID_PARAMETER_VALUE', /'data.tags\[0\]\.value'/);
    assert.equal(queue.messages.length, 0);
  });

  it('names the CloudEvents attribute at fault', async () => {
    const deps = { eventQueue: new MemoryQueue(), clock: new ManualClock().read };
    await rejects(publishCloudEvents(deps, publisher, { ...event, type: 'NOPE' }, false), 'INVALID_PARAMETER_VALUE', /'type'/);
    await rejects(publishCloudEvents(deps, publisher, [event, { ...event, id: 'ce-2', data: { model_name: 'm' } }], true), 'INVALID_PARAMETER_VALUE', /'\[1\]\.data\.version'/);
    await rejects(publishCloudEvents(deps, publisher, [event, event], true), 'INVALID_PARAMETER_VALUE', /'\[1\]\.id': repeats/);
    await rejects(publishCloudEvents(deps, publisher, { ...event, time: 'noon' }, false), 'INVALID_PARAMETER_VALUE', /'time'/);
    await rejects(publishCloudEvents(deps, publisher, { ...event, data: { ...event.data, event_id: 'x' } }, false), 'INVALID_PARAMETER_VALUE', /'data.event_id'/);
    await rejects(publishCloudEvents(deps, publisher, event, true), 'INVALID_PARAMETER_VALUE', /JSON array/);
    await rejects(publishCloudEvents(deps, publisher, { ...event, specversion: '0.3' }, false), 'INVALID_PARAMETER_VALUE', /'specversion'/);
    await rejects(publishCloudEvents(deps, publisher, { ...event, Bad_Name: 1 }, false), 'INVALID_PARAMETER_VALUE', /'Bad_Name'/);
    // JSON.parse (and the strict parser) make `__proto__` an own attribute; it breaks the attribute-name rule too.
    const withProto = JSON.parse(`{"__proto__": "x", ${JSON.stringify(event).slice(1)}`) as unknown;
    await rejects(publishCloudEvents(deps, publisher, withProto, false), 'INVALID_PARAMETER_VALUE', /'__proto__'/);
    await rejects(publishCloudEvents(deps, publisher, [event, withProto], true), 'INVALID_PARAMETER_VALUE', /'\[1\]\.__proto__'/);
    // Names that are properties of every object are named as sent, not as what the prototype holds.
    for (const key of ['constructor', 'toString', 'hasOwnProperty']) {
      await rejects(publishCloudEvents(deps, publisher, { ...event, data: { ...event.data, [key]: 1 } }, false), 'INVALID_PARAMETER_VALUE', new RegExp(`^Unknown parameter 'data\\.${key}'$`));
    }
    assert.equal((deps.eventQueue).messages.length, 0);
  });

  it('reads RFC 3339 timestamps with up to nine fractional digits', () => {
    assert.equal(parseTimestamp('2017-06-26T18:41:00.9584103Z'), Date.parse('2017-06-26T18:41:00.958Z'));
    assert.equal(parseTimestamp('2025-11-29T11:20:00+01:00'), Date.parse('2025-11-29T10:20:00Z'));
    assert.equal(parseTimestamp('2025-11-29T11:20:00'), null, 'a zone is required');
    assert.equal(parseTimestamp('1764415200'), null);
    for (const impossible of ['2025-02-30T10:00:00Z', '2025-04-31T10:00:00Z', '2025-11-29T24:00:00Z', '2025-02-29T00:00:00+00:00', '2025-11-29T10:00:00+24:00']) {
      assert.equal(parseTimestamp(impossible), null, `${impossible} is not a date, and is not rolled over into another one`);
    }
    assert.equal(parseTimestamp('2024-02-29T23:59:59Z'), Date.parse('2024-02-29T23:59:59Z'), 'a leap day');
  });
});

describe('Azure ML queue messages', () => {
  it('are read from the bytes as queued by the strict JSON parser: a duplicate key or deep nesting poisons the message', async () => {
    const queue = new MemoryQueue();
    const poison = new MemoryQueue();
    const deps = { publish: { eventQueue: queue, clock: new ManualClock(Date.now()).read }, poison, log: silentLogger, metrics: noopMetrics };
    const good = JSON.stringify(eventGridEvent('strict-model', '2'));
    // JSON.parse keeps the last of two keys: the host's parsed copy of this message names 'other-model'.
    const duplicate = good.replace('"data":{"modelName":"strict-model"', '"data":{"modelName":"strict-model","modelName":"other-model"');
    const deep = good.replace('"modelProperties":{}', `"modelProperties":${'['.repeat(60)}${']'.repeat(60)}`);
    for (const text of [duplicate, deep]) await processAzureMlMessage(deps, Buffer.from(text, 'utf8'));
    assert.equal(queue.drain().length, 0);
    assert.deepEqual(poison.drain().map((message) => message.text), [duplicate, deep]);
    await processAzureMlMessage(deps, Buffer.from(good, 'utf8'));
    assert.equal(queue.drain().length, 1);
  });

  it('log a message that is not JSON as "not JSON" with where it fails, in queue words rather than a request body\'s', async () => {
    const queue = new MemoryQueue();
    const poison = new MemoryQueue();
    const errors: string[] = [];
    const log = { ...silentLogger, error: (message: string) => void errors.push(message) };
    const deps = { publish: { eventQueue: queue, clock: new ManualClock(Date.now()).read }, poison, log, metrics: noopMetrics };
    const notUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
    for (const message of [Buffer.from('this is not json', 'utf8'), notUtf8, Buffer.from('{"id":"a","id":"b"}', 'utf8')]) await processAzureMlMessage(deps, message);
    assert.deepEqual(errors, [
      'azureml event moved to the poison queue: not JSON: unexpected token at position 0',
      'azureml event moved to the poison queue: not JSON: not valid UTF-8',
      "azureml event moved to the poison queue: not JSON: duplicate key 'id' at position 14",
    ]);
    assert.equal(poison.drain().length, 3);
    assert.equal(queue.drain().length, 0);
  });
});

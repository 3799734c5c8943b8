import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { testAzurite } from '../support/azurite.js';
import { createHook } from '../support/api-helpers.js';
import { startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, startRuntime, TEAM_MANAGER_TOKEN, TEAM_PUBLISHER_TOKEN, testEnv } from '../support/runtime-process.js';
import { recordArtifact } from '../support/artifacts.js';
import { snapshotStorage } from '../support/storage-snapshot.js';
import { mlflowSignature } from '../support/mlflow-sender.js';
import { asQueueMessage, cloudEventsEvent, eventGridEvent } from '../support/event-grid.js';
import { QUEUES, poisonQueueOf } from '../../src/pipeline/queues.js';
import { waitFor } from '../support/runtime-process.js';

const MLFLOW_SECRET = 'bad-input-mlflow-secret-0123';
const INGEST = '/api/ingest/mlflow';
/** Requests in flight at once while checking the cases. */
const PARALLEL_CASES = 6;

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** The bearer token sent (the admin's unless said). */
  token?: string;
  /** The statuses that are right for this input. */
  expect: number[];
  /** Sign the body as MLflow does, at send time (a fresh timestamp), with these headers over the signed ones. */
  mlflowSigned?: Record<string, string>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values that are wrong for a field of each kind. */
const WRONG: Record<string, Json[]> = {
  string: [null, 0, 1.5, true, [], {}, ['x'], { a: 'b' }],
  modelName: [null, 0, true, [], {}, '', 'x'.repeat(257), '😀'.repeat(257)],
  enumStatus: [null, 0, true, [], {}, '', 'active', 'ENABLED', 'A'.repeat(1000)],
  stage: [null, 0, true, [], {}, '', 'production', 'Prod', 'Staging '],
  eventFilter: [null, 0, true, {}, [null], [0], ['NOPE'], 'NOPE', 'COMMENT_CREATED,NOPE', [['COMMENT_CREATED']], [{ event: 'COMMENT_CREATED' }]],
  eventList: [null, 'x', 0, true, {}, [], [null], [0], ['x'], [[]]],
  events: [null, 'MODEL_VERSION_CREATED', 0, true, {}, [], [null], [0], ['NOPE'], ['model_version_created'], ['MODEL_VERSION_CREATED', 'MODEL_VERSION_CREATED'], ['MОDEL_VERSION_CREATED'], [['MODEL_VERSION_CREATED']]],
  bool: [null, 'true', 'false', 1, 0, [], {}],
  object: [null, 'x', 0, true, [], ['a']],
  url: [null, 0, true, [], {}, '', 'not a url', 'ftp://x.example/', 'javascript:alert(1)', '//no-scheme.example', `https://x.example/${'a'.repeat(2048)}`, 'https://user:pw@x.example/', 'file:///etc/passwd'],
  headerValue: [null, 0, true, [], {}, 'Bearer x\r\nX-Injected: 1', 'Bearer \u0000', 'Bearer é', 'x'.repeat(5000)],
  secret: [null, 0, true, [], {}, 'whsec_not base64!', 'x'.repeat(1025)],
  description: [null, 0, true, [], {}, 'd'.repeat(1001)],
  id: [null, 0, 1.5, true, [], {}, '', 'x'.repeat(200)],
  jobId: [null, true, [], {}, '', 'abc', '1.5', '-1', '12 ', 1.5, -1, '1'.repeat(25)],
  version: [null, true, [], {}, 0, -1, 1.5, '', 'abc', '1.0', 'v1'],
  // Two days ahead: a time no event can have yet (health and retention read records by event time).
  timestamp: [null, 'now', '1', true, -1, 1.5, 1e14, [], {}, Date.now() + 2 * 86_400_000],
  tags: [null, 'k=v', 0, {}, [], [null], ['k'], [{}], [{ key: 'k' }], [{ key: '', value: 'v' }], [{ key: 'k', value: 1 }], [{ key: 'k', value: 'v', extra: 1 }]],
  eventId: [null, 0, true, [], {}, '', 'has space', 'x'.repeat(257), 'ünïcode'],
  maxResults: [null, true, [], {}, 0, -1, 1.5, 1001, '', 'abc', '0', '1001'],
  pageToken: [null, 0, true, [], {}, 'garbage', 'e30', Buffer.from('{"p":1}').toString('base64url')],
};

const setAt = (body: Record<string, Json>, path: string[], value: Json | undefined): Record<string, Json> => {
  const copy = structuredClone(body);
  let node: Record<string, Json> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, Json>;
  const last = path[path.length - 1] ?? '';
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
};

/** Every field of a valid body made wrong in every way for its kind, each required field left out, and an extra field. */
function fieldCases(name: string, method: Case['method'], path: string, base: Record<string, Json>, fields: [string[], string][], required: string[][]): Case[] {
  const cases: Case[] = [];
  for (const [field, kind] of fields) {
    for (const [index, value] of (WRONG[kind] ?? []).entries()) {
      cases.push({ name: `${name} ${field.join('.')}=${kind}#${index}`, method, path, body: JSON.stringify(setAt(base, field, value)), expect: [400] });
    }
  }
  for (const field of required) cases.push({ name: `${name} without ${field.join('.')}`, method, path, body: JSON.stringify(setAt(base, field, undefined)), expect: [400] });
  cases.push({ name: `${name} with an extra field`, method, path, body: JSON.stringify({ ...base, unexpected: 1 }), expect: [400] });
  for (const [field, kind] of fields) {
    if (kind === 'object') cases.push({ name: `${name} ${field.join('.')} with an extra field`, method, path, body: JSON.stringify(setAt(base, [...field, 'unexpected'], 1)), expect: [400] });
  }
  return cases;
}

/** Bodies that are not JSON objects at all, or not valid JSON, or not UTF-8, or too deep. */
function structuralCases(name: string, method: Case['method'], path: string, valid: Record<string, Json>): Case[] {
  const text = JSON.stringify(valid);
  const raw: [string, string | Buffer][] = [
    ['array', '[]'],
    ['string', '"x"'],
    ['number', '42'],
    ['null', 'null'],
    ['true', 'true'],
    ['truncated', text.slice(0, -1)],
    ['trailing garbage', `${text} x`],
    ['two objects', `${text}${text}`],
    ['single quotes', text.replaceAll('"', "'")],
    ['comments', `/* c */${text}`],
    ['trailing comma', `${text.slice(0, -1)},}`],
    ['NaN', '{"x": NaN}'],
    ['Infinity', '{"x": Infinity}'],
    ['hex number', '{"x": 0x10}'],
    ['leading zero', '{"x": 01}'],
    ['raw control char', '{"x": "a\u0001b"}'],
    ['bad escape', '{"x": "\\q"}'],
    ['lone surrogate escape', text.replace(/^\{/, '{"x": "a\\ud800b", ')],
    ['escaped lone low surrogate', '{"model_name": "\\udc00"}'],
    ['duplicate keys', text.replace(/^\{("[^"]+":)/, '{$1 "first", $1')],
    ['deep nesting', `{"x": ${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['deep objects', `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"model_name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])],
    ['overlong UTF-8', Buffer.concat([Buffer.from('{"model_name": "'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['truncated UTF-8', Buffer.concat([Buffer.from('{"model_name": "'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')])],
    ['UTF-16', Buffer.from(text, 'utf16le')],
    ['only whitespace then garbage', '   \n x'],
  ];
  const cases: Case[] = raw.map(([kind, body]) => ({ name: `${name} body: ${kind}`, method, path, body, expect: [400] }));
  const contentTypes: [string, string][] = [
    ['application/x-www-form-urlencoded', 'model_name=x&events=COMMENT_CREATED'],
    ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--'],
    ['application/xml', '<webhook><id>x</id></webhook>'],
    ['text/plain', 'hello'],
    ['application/json; charset=utf-16', text],
    ['application/json; charset=latin1', text],
  ];
  for (const [contentType, body] of contentTypes) cases.push({ name: `${name} as ${contentType}`, method, path, body, headers: { 'content-type': contentType }, expect: [400] });
  cases.push({ name: `${name} body over 1 MiB`, method, path, body: JSON.stringify({ ...valid, description: 'x'.repeat(1024 * 1024) }), expect: [413] });
  return cases;
}

/**
 * Sends a body past the size cap and reads the answer. The runtime answers 413 from the declared length and
 * closes without reading the body, so writing the rest may fail (EPIPE, ECONNRESET) once the answer is in.
 */
function sendPastTheCap(address: string, sent: { method: string; headers: Record<string, string> }, body: string | Buffer): Promise<{ statusCode: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = httpRequest(address, { method: sent.method, headers: { ...sent.headers, 'content-length': String(Buffer.byteLength(body)) } }, (incoming) => {
      answered = true;
      let text = '';
      incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
      incoming.on('end', () => resolve({ statusCode: incoming.statusCode ?? 0, text }));
      incoming.on('error', reject);
    });
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    outgoing.end(body);
  });
}

/** MLflow's headers for a body, signed now with the configured secret. */
function signedHeaders(body: string | Buffer): Record<string, string> {
  const deliveryId = `bad-input-${Math.random().toString(16).slice(2)}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const text = typeof body === 'string' ? body : body.toString('latin1');
  const signature = typeof body === 'string' ? mlflowSignature(MLFLOW_SECRET, deliveryId, timestamp, text) : mlflowSignatureOfBytes(deliveryId, timestamp, body);
  return { 'x-mlflow-delivery-id': deliveryId, 'x-mlflow-timestamp': timestamp, 'x-mlflow-signature': signature };
}

function mlflowSignatureOfBytes(deliveryId: string, timestamp: string, body: Buffer): string {
  return `v1,${createHmac('sha256', MLFLOW_SECRET).update(`${deliveryId}.${timestamp}.`).update(body).digest('base64')}`;
}

/**
 * The MLflow endpoint: correctly signed bodies that are wrong in every way (400), and every way the
 * signature can be wrong (401). MLflow's own fields are named in the messages.
 */
function mlflowCases(): Case[] {
  const body = { entity: 'model_version_tag', action: 'set', timestamp: '2025-11-29T11:20:00.123456+00:00', data: { name: 'bad-input', version: '1', key: 'k', value: 'v' } };
  const alias = { entity: 'model_version_alias', action: 'created', timestamp: '2025-11-29T11:20:00+00:00', data: { name: 'bad-input', alias: 'champion', version: '1' } };
  const signed = (cases: Case[]): Case[] => cases.map((entry) => ({ ...entry, name: `mlflow ${entry.name}`, mlflowSigned: {} }));
  const cases: Case[] = [
    ...signed(fieldCases('ingest', 'POST', INGEST, body, [[['entity'], 'id'], [['action'], 'id'], [['timestamp'], 'timestamp'], [['data'], 'object'], [['data', 'name'], 'modelName'], [['data', 'version'], 'version'], [['data', 'key'], 'string'], [['data', 'value'], 'string']], [['entity'], ['action'], ['timestamp'], ['data'], ['data', 'name'], ['data', 'version'], ['data', 'key'], ['data', 'value']]).filter((entry) => !entry.name.includes('extra field'))),
    ...signed(fieldCases('ingest alias', 'POST', INGEST, alias, [[['data', 'alias'], 'string'], [['data', 'version'], 'version']], [['data', 'alias'], ['data', 'version']]).filter((entry) => !entry.name.includes('extra field'))),
    ...signed(structuralCases('ingest', 'POST', INGEST, body).filter((entry) => !entry.headers)),
  ];
  const text = JSON.stringify(body);
  const now = () => String(Math.floor(Date.now() / 1000));
  const unsigned: [string, Record<string, string>][] = [
    ['no headers', {}],
    ['no signature', { 'x-mlflow-delivery-id': 'd', 'x-mlflow-timestamp': now() }],
    ['no timestamp', { 'x-mlflow-delivery-id': 'd', 'x-mlflow-signature': 'v1,AAAA' }],
    ['no delivery id', { 'x-mlflow-timestamp': now(), 'x-mlflow-signature': 'v1,AAAA' }],
  ];
  for (const [name, headers] of unsigned) cases.push({ name: `mlflow ${name}`, method: 'POST', path: INGEST, body: text, headers: { ...headers, 'x-no-default-token': '1' }, expect: [401] });
  const tampered: [string, Record<string, string>][] = [
    ['wrong signature', { 'x-mlflow-signature': `v1,${Buffer.alloc(32).toString('base64')}` }],
    ['signature not base64', { 'x-mlflow-signature': 'v1,@@@@' }],
    ['hex signature', { 'x-mlflow-signature': 'sha256=abcdef' }],
    ['timestamp in ms', { 'x-mlflow-timestamp': String(Date.now()) }],
    ['timestamp not a number', { 'x-mlflow-timestamp': 'now' }],
    ['stale timestamp', { 'x-mlflow-timestamp': '1764415200' }],
    ['delivery id with spaces', { 'x-mlflow-delivery-id': 'a b' }],
    ['delivery id too long', { 'x-mlflow-delivery-id': 'd'.repeat(200) }],
  ];
  for (const [name, headers] of tampered) cases.push({ name: `mlflow ${name}`, method: 'POST', path: INGEST, body: text, mlflowSigned: headers, expect: [401] });
  cases.push({ name: 'mlflow wrong method', method: 'GET', path: INGEST, expect: [405] });
  return cases;
}

/** CloudEvents on publish: every attribute wrong, single and batch. */
function cloudEventCases(transition: Record<string, Json>): Case[] {
  const { event, ...data } = transition;
  const cloudEvent: Record<string, Json> = { specversion: '1.0', id: 'ce-bad-1', source: '/bad-input', type: event ?? '', time: '2025-11-29T10:00:00Z', data };
  const single = { 'content-type': 'application/cloudevents+json' };
  const batch = { 'content-type': 'application/cloudevents-batch+json' };
  const withHeaders = (cases: Case[], headers: Record<string, string>) => cases.map((entry) => ({ ...entry, name: `cloudevents ${entry.name}`, headers: { ...headers, ...entry.headers } }));
  return [
    ...withHeaders(fieldCases('single', 'POST', `${API}/publish`, cloudEvent, [[['specversion'], 'string'], [['id'], 'eventId'], [['source'], 'string'], [['type'], 'enumStatus'], [['time'], 'string'], [['data'], 'object'], [['data', 'model_name'], 'modelName'], [['data', 'to_stage'], 'stage'], [['data', 'version'], 'version']], [['specversion'], ['id'], ['source'], ['type'], ['data'], ['data', 'model_name'], ['data', 'to_stage']]).filter((entry) => !entry.name.endsWith('single with an extra field')), single),
    ...withHeaders(structuralCases('single', 'POST', `${API}/publish`, cloudEvent).filter((entry) => !entry.headers), single),
    { name: 'cloudevents single as a batch', method: 'POST', path: `${API}/publish`, body: JSON.stringify(cloudEvent), headers: batch, expect: [400] },
    { name: 'cloudevents batch as a single', method: 'POST', path: `${API}/publish`, body: JSON.stringify([cloudEvent]), headers: single, expect: [400] },
    { name: 'cloudevents empty batch', method: 'POST', path: `${API}/publish`, body: '[]', headers: batch, expect: [400] },
    { name: 'cloudevents batch of 101', method: 'POST', path: `${API}/publish`, body: JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ ...cloudEvent, id: `ce-${i}` }))), headers: batch, expect: [400] },
    { name: 'cloudevents batch with one bad type', method: 'POST', path: `${API}/publish`, body: JSON.stringify([cloudEvent, { ...cloudEvent, id: 'ce-bad-2', type: 'com.example.model.registered' }]), headers: batch, expect: [400] },
    { name: 'cloudevents data_base64', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ ...cloudEvent, data: undefined, data_base64: 'e30=' }), headers: single, expect: [400] },
    { name: 'cloudevents event_id in data', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ ...cloudEvent, data: { ...data, event_id: 'x' } }), headers: single, expect: [400] },
    { name: 'cloudevents xml datacontenttype', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ ...cloudEvent, datacontenttype: 'application/xml' }), headers: single, expect: [400] },
    { name: 'cloudevents binary mode', method: 'POST', path: `${API}/publish`, body: JSON.stringify(data), headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-type': 'MODEL_VERSION_TRANSITIONED_STAGE', 'ce-id': 'x', 'ce-source': '/s' }, expect: [400] },
    { name: 'cloudevents no credentials', method: 'POST', path: `${API}/publish`, body: JSON.stringify(cloudEvent), headers: { ...single, 'x-no-default-token': '1' }, expect: [401] },
  ];
}

/** Bad or missing credentials, on every endpoint. */
function authCases(method: Case['method'], path: string): Case[] {
  const headers: Record<string, string>[] = [{}, { authorization: '' }, { authorization: 'Bearer' }, { authorization: 'Basic YWRtaW46YWRtaW4=' }, { authorization: 'Bearer a b' }, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `bearer${ADMIN_TOKEN}` }];
  return headers.map((header, index) => ({ name: `${method} ${path} credentials#${index}`, method, path, body: '{}', headers: { ...header, 'x-no-default-token': '1' }, expect: [401] }));
}

describe('bad input on every endpoint', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { MLFLOW_WEBHOOK_SECRETS: MLFLOW_SECRET }));
  const receiver = await startReceiver();
  const id = await createHook(runtime, { model_name: 'bad-input', events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED'], status: 'TEST_MODE', http_url_spec: { url: receiver.url, secret: 'bad-input-secret' } });

  const create = { model_name: 'bad-input', events: ['MODEL_VERSION_CREATED'], description: 'd', status: 'ACTIVE', http_url_spec: { url: receiver.url, secret: 'secret-123456', authorization: 'Bearer x', enable_ssl_verification: true } };
  const createJob = { model_name: 'bad-input', events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '12', access_token: 'dapi-123456', workspace_url: 'https://adb.example' } };
  const update = { id, description: 'd', events: ['MODEL_VERSION_CREATED'], status: 'ACTIVE', http_url_spec: { url: receiver.url, secret: 'secret-123456', authorization: 'Bearer x', enable_ssl_verification: true } };
  const publish = { event: 'MODEL_VERSION_TAG_SET', model_name: 'bad-input', version: '1', tags: [{ key: 'k', value: 'v' }], user_id: 'u', event_timestamp: 1, text: 't', event_id: 'e-1' };
  const transition = { event: 'MODEL_VERSION_TRANSITIONED_STAGE', model_name: 'bad-input', version: '1', to_stage: 'Production', from_stage: 'None' };
  const hook = (field: string) => [['http_url_spec', field], field === 'url' ? 'url' : field === 'enable_ssl_verification' ? 'bool' : field === 'secret' ? 'secret' : 'headerValue'] as [string[], string];

  const cases: Case[] = [
    ...fieldCases('create', 'POST', `${API}/create`, create, [[['model_name'], 'modelName'], [['events'], 'events'], [['description'], 'description'], [['status'], 'enumStatus'], [['http_url_spec'], 'object'], hook('url'), hook('secret'), hook('authorization'), hook('enable_ssl_verification')], [['events'], ['http_url_spec', 'url']]),
    ...fieldCases('create job', 'POST', `${API}/create`, createJob, [[['job_spec'], 'object'], [['job_spec', 'job_id'], 'jobId'], [['job_spec', 'access_token'], 'headerValue'], [['job_spec', 'workspace_url'], 'url']], [['job_spec', 'job_id'], ['job_spec', 'access_token']]),
    { name: 'create with both specs', method: 'POST', path: `${API}/create`, body: JSON.stringify({ ...create, job_spec: createJob.job_spec }), expect: [400] },
    { name: 'create with neither spec', method: 'POST', path: `${API}/create`, body: JSON.stringify({ ...create, http_url_spec: undefined }), expect: [400] },
    { name: 'create REGISTERED_MODEL_CREATED on a model', method: 'POST', path: `${API}/create`, body: JSON.stringify({ ...create, events: ['REGISTERED_MODEL_CREATED'] }), expect: [400] },
    ...fieldCases('update', 'PATCH', `${API}/update`, update, [[['id'], 'id'], [['description'], 'description'], [['events'], 'events'], [['status'], 'enumStatus'], [['http_url_spec'], 'object'], hook('url'), hook('secret'), hook('authorization'), hook('enable_ssl_verification')], [['id']]),
    ...fieldCases('test', 'POST', `${API}/test`, { id, event: 'COMMENT_CREATED' }, [[['id'], 'id'], [['event'], 'enumStatus']], [['id']]),
    ...fieldCases('delete', 'DELETE', `${API}/delete`, { id }, [[['id'], 'id']], [['id']]),
    ...fieldCases('publish', 'POST', `${API}/publish`, publish, [[['event'], 'enumStatus'], [['model_name'], 'modelName'], [['version'], 'version'], [['tags'], 'tags'], [['user_id'], 'string'], [['event_timestamp'], 'timestamp'], [['text'], 'string'], [['event_id'], 'eventId']], [['event'], ['model_name'], ['version'], ['tags']]),
    ...fieldCases('publish transition', 'POST', `${API}/publish`, transition, [[['to_stage'], 'stage'], [['from_stage'], 'stage']], [['to_stage'], ['from_stage']]),
    ...fieldCases('publish batch', 'POST', `${API}/publish`, { events: [transition] }, [[['events'], 'eventList']], [['events']]),
    { name: 'publish 101 events', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ events: Array.from({ length: 101 }, () => transition) }), expect: [400] },
    { name: 'publish an empty batch', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ events: [] }), expect: [400] },
    { name: 'publish a batch with one bad event', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ events: [transition, { ...transition, to_stage: 'Nowhere' }] }), expect: [400] },
    { name: 'publish a payload over 32 KiB', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ ...publish, tags: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(5000) })) }), expect: [400] },
    { name: 'publish a specific event with the wrong stage', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ ...transition, event: 'MODEL_VERSION_TRANSITIONED_TO_STAGING' }), expect: [400] },
    ...fieldCases('list', 'POST', `${API}/list`, { model_name: 'bad-input', events: ['COMMENT_CREATED'], max_results: 10 }, [[['model_name'], 'modelName'], [['events'], 'eventFilter'], [['max_results'], 'maxResults'], [['page_token'], 'pageToken']], []),
    ...fieldCases('redeliver', 'POST', `${API}/deliveries/redeliver`, { webhook_id: id, since_timestamp: 0 }, [[['webhook_id'], 'id'], [['since_timestamp'], 'timestamp']], [['webhook_id'], ['since_timestamp']]),
    ...fieldCases('redeliver one', 'POST', `${API}/deliveries/redeliver`, { delivery_id: 'x' }, [[['delivery_id'], 'id']], []),
    ...structuralCases('create', 'POST', `${API}/create`, create),
    ...structuralCases('update', 'PATCH', `${API}/update`, update),
    ...structuralCases('test', 'POST', `${API}/test`, { id }),
    ...structuralCases('delete', 'DELETE', `${API}/delete`, { id }),
    ...structuralCases('publish', 'POST', `${API}/publish`, transition),
    ...structuralCases('list', 'POST', `${API}/list`, { model_name: 'bad-input' }),
    ...structuralCases('redeliver', 'POST', `${API}/deliveries/redeliver`, { webhook_id: id, since_timestamp: 0 }),
    ...mlflowCases(),
    ...cloudEventCases(transition),
    ...[`${API}/create`, `${API}/update`, `${API}/delete`, `${API}/test`, `${API}/list`, `${API}/publish`, `${API}/deliveries`, `${API}/deliveries/get`, `${API}/deliveries/redeliver`].flatMap((path) =>
      authCases(path.endsWith('update') ? 'PATCH' : path.endsWith('delete') ? 'DELETE' : path.endsWith('deliveries') || path.endsWith('/get') ? 'GET' : 'POST', path),
    ),
  ];

  const query = (path: string, params: string[]) => params.map((param, index): Case => ({ name: `GET ${path}?${param}#${index}`, method: 'GET', path: `${path}?${param}`, expect: [400] }));
  cases.push(
    ...query(`${API}/list`, ['max_results=abc', 'max_results=0', 'max_results=1001', 'max_results=-1', 'max_results=1.5', 'max_results=', 'events=NOPE', 'events=MODEL_VERSION_CREATED,NOPE', 'events=', 'page_token=garbage', 'page_token=e30', 'unknown=1', 'model_name=', `model_name=${'x'.repeat(300)}`, 'model_name=a&model_name=b', 'max_results=1&max_results=2']),
    ...query(`${API}/deliveries`, ['status=LOST', 'max_results=0', 'page_token=garbage', `webhook_id=${id}&status=LOST`, `webhook_id=${id}&max_results=0`, `webhook_id=${id}&page_token=garbage`, `webhook_id=${id}&unknown=1`, 'webhook_id=', `webhook_id=${id}&webhook_id=${id}`]),
    ...query(`${API}/deliveries/get`, ['', 'id=', 'id=nope', `id=${id}`, `id=${id}_123_0123456789abcdef`, `id=${'a'.repeat(200)}`, `id=${id}_9999999999999_0123456789abcdef&extra=1`, `id=${id}_9999999999999_0123456789abcdef&id=${id}_9999999999999_0123456789abcdef`]),
  );
  // Ids that are well formed, or not, but name nothing: 404.
  for (const unknown of ['f'.repeat(32), '0'.repeat(32), '1234567890', '../../etc/passwd', 'ｆ'.repeat(32), 'a'.repeat(31), `${'a'.repeat(32)}\u0000`, 'A'.repeat(32)]) {
    cases.push(
      { name: `update unknown id ${unknown}`, method: 'PATCH', path: `${API}/update`, body: JSON.stringify({ id: unknown, status: 'ACTIVE' }), expect: [404] },
      { name: `delete unknown id ${unknown}`, method: 'DELETE', path: `${API}/delete`, body: JSON.stringify({ id: unknown }), expect: [404] },
      { name: `test unknown id ${unknown}`, method: 'POST', path: `${API}/test`, body: JSON.stringify({ id: unknown }), expect: [404] },
      { name: `deliveries of unknown id ${unknown}`, method: 'GET', path: `${API}/deliveries?webhook_id=${encodeURIComponent(unknown)}`, expect: [404] },
      { name: `redeliver unknown delivery ${unknown}`, method: 'POST', path: `${API}/deliveries/redeliver`, body: JSON.stringify({ delivery_id: unknown }), expect: [404] },
    );
  }
  for (const unknown of [`${'f'.repeat(32)}_9999999999999_0123456789abcdef`, `${id}_9999999999999_0123456789abcdef`]) {
    cases.push({ name: `get unknown delivery ${unknown}`, method: 'GET', path: `${API}/deliveries/get?id=${unknown}`, expect: [404] });
  }
  // Scoped tokens: the fraud team's manager (fraud-*, churn-model) and publisher (fraud-*). Malformed input for
  // their own models is a 400 like anyone's; anything of the 'bad-input' model is refused, and nothing changes.
  const scoped = (token: string, list: Case[]): Case[] => list.map((entry) => ({ ...entry, name: `scoped ${entry.name}`, token }));
  const fraudCreate = { ...create, model_name: 'fraud-bad-input' };
  const fraudPublish = { ...publish, model_name: 'fraud-bad-input' };
  cases.push(
    ...scoped(TEAM_MANAGER_TOKEN, [
      ...fieldCases('create', 'POST', `${API}/create`, fraudCreate, [[['model_name'], 'modelName'], [['events'], 'events'], [['status'], 'enumStatus'], hook('url'), hook('authorization')], [['events']]),
      ...fieldCases('list', 'POST', `${API}/list`, { model_name: 'fraud-bad-input', max_results: 10 }, [[['max_results'], 'maxResults'], [['page_token'], 'pageToken']], []),
      ...structuralCases('create', 'POST', `${API}/create`, fraudCreate).slice(0, 10),
      { name: 'create for a model outside the grant', method: 'POST', path: `${API}/create`, body: JSON.stringify(create), expect: [403] },
      { name: 'create a job webhook outside the grant', method: 'POST', path: `${API}/create`, body: JSON.stringify(createJob), expect: [403] },
      { name: 'create for a name the prefix does not cover', method: 'POST', path: `${API}/create`, body: JSON.stringify({ ...create, model_name: 'Fraud-x' }), expect: [403] },
      { name: 'create for a name the exact pattern does not cover', method: 'POST', path: `${API}/create`, body: JSON.stringify({ ...create, model_name: 'churn-model-2' }), expect: [403] },
      { name: 'create registry-wide', method: 'POST', path: `${API}/create`, body: JSON.stringify({ ...create, model_name: undefined, events: ['REGISTERED_MODEL_CREATED'] }), expect: [403] },
      { name: 'update outside the grant', method: 'PATCH', path: `${API}/update`, body: JSON.stringify(update), expect: [403] },
      { name: 'update moving the model', method: 'PATCH', path: `${API}/update`, body: JSON.stringify({ id, model_name: 'fraud-x' }), expect: [400] },
      { name: 'test outside the grant', method: 'POST', path: `${API}/test`, body: JSON.stringify({ id }), expect: [403] },
      { name: 'delete outside the grant', method: 'DELETE', path: `${API}/delete`, body: JSON.stringify({ id }), expect: [403] },
      { name: 'deliveries outside the grant', method: 'GET', path: `${API}/deliveries?webhook_id=${id}`, expect: [403] },
      { name: 'a delivery outside the grant', method: 'GET', path: `${API}/deliveries/get?id=${id}_9999999999999_0123456789abcdef`, expect: [403] },
      { name: 'redeliver outside the grant', method: 'POST', path: `${API}/deliveries/redeliver`, body: JSON.stringify({ webhook_id: id, since_timestamp: 0 }), expect: [403] },
      { name: 'list a model outside the grant', method: 'GET', path: `${API}/list?model_name=bad-input`, expect: [403] },
      { name: 'list a model outside the grant by body', method: 'POST', path: `${API}/list`, body: JSON.stringify({ model_name: 'bad-input' }), expect: [403] },
      { name: 'publish with a manager grant', method: 'POST', path: `${API}/publish`, body: JSON.stringify(fraudPublish), expect: [403] },
    ]),
    ...scoped(TEAM_PUBLISHER_TOKEN, [
      ...fieldCases('publish', 'POST', `${API}/publish`, fraudPublish, [[['event'], 'enumStatus'], [['model_name'], 'modelName'], [['version'], 'version'], [['tags'], 'tags'], [['event_id'], 'eventId']], [['event'], ['model_name']]),
      { name: 'publish for a model outside the grant', method: 'POST', path: `${API}/publish`, body: JSON.stringify(publish), expect: [403] },
      { name: 'publish a batch with one event outside the grant', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ events: [fraudPublish, { ...transition, model_name: 'fraud-ok' }, transition] }), expect: [403] },
      { name: 'publish a CloudEvent outside the grant', method: 'POST', path: `${API}/publish`, headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify({ specversion: '1.0', id: 'ce-scoped-1', source: '/scoped', type: 'MODEL_VERSION_CREATED', data: { model_name: 'bad-input', version: '1' } }), expect: [403] },
      { name: 'publish a CloudEvents batch with one event outside the grant', method: 'POST', path: `${API}/publish`, headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify([{ specversion: '1.0', id: 'ce-scoped-2', source: '/scoped', type: 'MODEL_VERSION_CREATED', data: { model_name: 'fraud-ok', version: '1' } }, { specversion: '1.0', id: 'ce-scoped-3', source: '/scoped', type: 'MODEL_VERSION_CREATED', data: { model_name: 'bad-input', version: '1' } }]), expect: [403] },
      { name: 'publish a batch with one bad event and one outside the grant', method: 'POST', path: `${API}/publish`, body: JSON.stringify({ events: [{ ...transition, to_stage: 'Nowhere' }, publish] }), expect: [400] },
      { name: 'create with a publisher grant', method: 'POST', path: `${API}/create`, body: JSON.stringify(fraudCreate), expect: [403] },
      { name: 'list with a publisher grant', method: 'GET', path: `${API}/list`, expect: [403] },
      { name: 'deliveries with a publisher grant', method: 'GET', path: `${API}/deliveries?webhook_id=${id}`, expect: [403] },
    ]),
  );
  cases.push(
    { name: 'unknown path', method: 'GET', path: `${API}/nope`, expect: [404] },
    { name: 'unknown API version', method: 'POST', path: '/api/2.1/mlflow/registry-webhooks/create', body: '{}', expect: [404] },
    { name: 'wrong method on create', method: 'GET', path: `${API}/create`, expect: [405] },
    { name: 'wrong method on update', method: 'POST', path: `${API}/update`, body: '{}', expect: [405] },
    { name: 'wrong method on delete', method: 'POST', path: `${API}/delete`, body: '{}', expect: [405] },
    { name: 'wrong method on publish', method: 'GET', path: `${API}/publish`, expect: [405] },
    { name: 'GET list with a body', method: 'GET', path: `${API}/list`, body: '{"model_name":"x"}', expect: [400] },
  );

  it('answers every one with the right 4xx in the error format, never a 5xx, and changes nothing', async () => {
    const before = await snapshotStorage(azurite.clients);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    // The cases are independent (none changes anything), so a few run at once: sent one by one, 1,200 requests
    // took long enough on a loaded machine to reach the runner's per-file limit (no request hangs; each is quick).
    const check = async (entry: Case): Promise<void> => {
      const { ['x-no-default-token']: noDefault, ...given } = entry.headers ?? {};
      const headers = entry.mlflowSigned ? { ...signedHeaders(entry.body ?? ''), ...entry.mlflowSigned } : given;
      const sent = { method: entry.method, headers: { ...(noDefault || entry.mlflowSigned ? {} : { authorization: `Bearer ${entry.token ?? ADMIN_TOKEN}` }), ...headers } };
      const response = entry.expect.includes(413)
        ? await sendPastTheCap(`${runtime.baseUrl}${entry.path}`, sent, entry.body ?? '')
        : await request(`${runtime.baseUrl}${entry.path}`, { ...sent, ...(entry.body !== undefined ? { body: entry.body } : {}) }).then(async (answer) => ({ statusCode: answer.statusCode, text: await answer.body.text() }));
      const { text } = response;
      recordArtifact('api-responses', `${entry.method} ${entry.path} -> ${response.statusCode}\n${text}`);
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      let json: { error_code?: unknown; message?: unknown } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        // reported below
      }
      if (!entry.expect.includes(response.statusCode) || typeof json.error_code !== 'string' || typeof json.message !== 'string' || json.message === '') {
        failures.push(`${entry.name}: ${response.statusCode} ${text.slice(0, 200)}`);
      }
    };
    const pending = [...cases];
    await Promise.all(Array.from({ length: PARALLEL_CASES }, async () => {
      for (let entry = pending.shift(); entry; entry = pending.shift()) {
        await check(entry).catch((error: unknown) => failures.push(`${entry?.name ?? ''}: ${String(error)}`));
      }
    }));
    const fiveHundreds = [...statuses.entries()].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0);
    console.log(`bad-input suite: ${cases.length} malformed inputs, ${fiveHundreds} answered 5xx, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok(cases.length >= 500, `${cases.length} cases`);
    assert.deepEqual(failures, []);
    assert.equal(fiveHundreds, 0);
    assert.equal(await snapshotStorage(azurite.clients), before, 'storage is exactly as it was');
  });

  it('moves every unreadable azureml-events message to its poison queue with a logged reason, and publishes nothing', async () => {
    const azureml = await startReceiver();
    await createHook(runtime, { events: ['MODEL_VERSION_CREATED', 'REGISTERED_MODEL_CREATED'], http_url_spec: { url: azureml.url } });
    const event = eventGridEvent('bad-input-ml', '2');
    const data = event.data as Record<string, unknown>;
    const withData = (changes: Record<string, unknown>) => ({ ...event, data: { ...data, ...changes } });
    const { modelName: _name, ...withoutName } = data;
    const { id: _id, ...withoutId } = event;
    const { eventType: _type, ...withoutType } = event;
    const bad: [string, string][] = [
      ['plain JSON, not base64', JSON.stringify(event)],
      ['not JSON', asQueueMessage('this is not json')],
      ['a number', asQueueMessage('42')],
      ['an empty array', asQueueMessage('[]')],
      ['no data', asQueueMessage({ ...event, data: undefined })],
      ['data an array', asQueueMessage({ ...event, data: [data] })],
      ['no modelName', asQueueMessage({ ...event, data: withoutName })],
      ['empty modelName', asQueueMessage(withData({ modelName: '' }))],
      ['modelName too long', asQueueMessage(withData({ modelName: 'm'.repeat(300) }))],
      ['modelVersion not a number', asQueueMessage(withData({ modelVersion: 'abc' }))],
      ['modelVersion 1.5', asQueueMessage(withData({ modelVersion: 1.5 }))],
      ['modelVersion 0', asQueueMessage(withData({ modelVersion: 0 }))],
      ['modelVersion null', asQueueMessage(withData({ modelVersion: null }))],
      ['no id', asQueueMessage(withoutId)],
      ['id too long', asQueueMessage({ ...event, id: 'i'.repeat(300) })],
      ['no event type', asQueueMessage(withoutType)],
      ['eventTime not a time', asQueueMessage({ ...event, eventTime: 'yesterday' })],
      ['a good and a bad event', asQueueMessage([cloudEventsEvent('bad-input-ml', 1), { ...cloudEventsEvent('bad-input-ml', 'x') }])],
    ];
    const before = JSON.parse(await snapshotStorage(azurite.clients)) as { queues: Record<string, number> };
    const queue = azurite.clients.queue(QUEUES.azureMlEvents);
    for (const [, message] of bad) await queue.sendMessage(message);
    const poison = azurite.clients.queue(poisonQueueOf(QUEUES.azureMlEvents));
    const poisoned = await waitFor(`${bad.length} poisoned azureml messages`, async () => {
      const { approximateMessagesCount = 0 } = await poison.getProperties();
      return approximateMessagesCount >= bad.length ? approximateMessagesCount : undefined;
    }, 60_000);
    assert.equal(poisoned, bad.length);
    const after = JSON.parse(await snapshotStorage(azurite.clients)) as { queues: Record<string, number> };
    after.queues[poisonQueueOf(QUEUES.azureMlEvents)] = before.queues[poisonQueueOf(QUEUES.azureMlEvents)] ?? 0;
    assert.deepEqual(after, before, 'nothing published, claimed or recorded');
    for (const reason of [/Message decoding has failed/, /poison queue: not JSON/, /modelName must be a string/, /'event\.data\.modelName'/, /'event\.data\.modelVersion'/, /\.id must be a non-empty string/, /no eventType/, /eventTime must be/, /'\[1\]\.data\.modelVersion'/]) {
      assert.match(runtime.output(), reason);
    }
    assert.equal(azureml.requests.length, 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonSchema } from '../../src/openapi/json-schema.js';
import { generatedDocument, schemaProblem } from '../support/openapi-check.js';

/**
 * The registry-webhooks calls of the official Python SDK, databricks-sdk-py `databricks/sdk/service/ml.py`
 * (release commit 9ae22415): each method's HTTP method and path, the query or body it builds (`as_dict` of its
 * dataclasses, every optional field set), and the fields its response classes read (`from_dict`). Written out
 * from that file, apart from the service's schemas.
 */
const SDK_EVENTS = [
  'COMMENT_CREATED', 'MODEL_VERSION_CREATED', 'MODEL_VERSION_TAG_SET', 'MODEL_VERSION_TRANSITIONED_STAGE', 'MODEL_VERSION_TRANSITIONED_TO_ARCHIVED',
  'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', 'MODEL_VERSION_TRANSITIONED_TO_STAGING', 'REGISTERED_MODEL_CREATED', 'TRANSITION_REQUEST_CREATED',
  'TRANSITION_REQUEST_TO_ARCHIVED_CREATED', 'TRANSITION_REQUEST_TO_PRODUCTION_CREATED', 'TRANSITION_REQUEST_TO_STAGING_CREATED',
];
const SDK_STATUSES = ['ACTIVE', 'DISABLED', 'TEST_MODE'];
const HTTP_URL_SPEC = { authorization: 'Bearer AbcdEfg1294', enable_ssl_verification: false, secret: 'anyRandomString', url: 'https://example.com/hook' };
const JOB_SPEC = { access_token: 'dapi-token', job_id: '1234567890123456', workspace_url: 'https://adb-1.azuredatabricks.net' };
const ID = '0247f4303a549cb527779cf910c9a818';

type SdkCall = { method: string; path: string; query?: Record<string, unknown>; body?: Record<string, unknown>; response: { schemaPath: string[]; fields: string[] } };

const CALLS: Record<string, SdkCall[]> = {
  create_webhook: [
    { method: 'post', path: 'create', body: { description: 'd', events: SDK_EVENTS.filter((e) => e !== 'REGISTERED_MODEL_CREATED'), http_url_spec: HTTP_URL_SPEC, model_name: 'someModel', status: 'TEST_MODE' }, response: { schemaPath: ['webhook'], fields: [] } },
    { method: 'post', path: 'create', body: { events: ['REGISTERED_MODEL_CREATED'], job_spec: JOB_SPEC, status: 'ACTIVE' }, response: { schemaPath: ['webhook'], fields: [] } },
  ],
  update_webhook: [
    { method: 'patch', path: 'update', body: { description: 'd', events: ['MODEL_VERSION_CREATED'], http_url_spec: HTTP_URL_SPEC, id: ID, status: 'DISABLED' }, response: { schemaPath: ['webhook'], fields: [] } },
    { method: 'patch', path: 'update', body: { id: ID, job_spec: JOB_SPEC }, response: { schemaPath: ['webhook'], fields: [] } },
  ],
  delete_webhook: [{ method: 'delete', path: 'delete', query: { id: ID }, response: { schemaPath: [], fields: [] } }],
  list_webhooks: [{ method: 'get', path: 'list', query: { events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED'], max_results: 10, model_name: 'someModel', page_token: 'abc' }, response: { schemaPath: [], fields: ['next_page_token', 'webhooks'] } }],
  test_registry_webhook: [{ method: 'post', path: 'test', body: { event: 'MODEL_VERSION_CREATED', id: ID }, response: { schemaPath: [], fields: ['body', 'status_code'] } }],
};
/** `RegistryWebhook.from_dict`, `HttpUrlSpecWithoutSecret` and `JobSpecWithoutSecret`. */
const SDK_WEBHOOK_FIELDS = ['creation_timestamp', 'description', 'events', 'http_url_spec', 'id', 'job_spec', 'last_updated_timestamp', 'model_name', 'status'];
const SDK_HTTP_URL_SPEC_FIELDS = ['enable_ssl_verification', 'url'];
const SDK_JOB_SPEC_FIELDS = ['job_id', 'workspace_url'];

type Operation = { parameters?: { name: string; in: string; schema: JsonSchema }[]; requestBody?: { content: Record<string, { schema: JsonSchema }> }; responses: Record<string, { content: Record<string, { schema: JsonSchema }> }> };
const operation = (method: string, path: string): Operation => {
  const found = (generatedDocument().paths as Record<string, Record<string, Operation>>)[`/api/2.0/mlflow/registry-webhooks/${path}`]?.[method];
  assert.ok(found, `${method.toUpperCase()} ${path} is not in the document`);
  return found;
};
const properties = (schema: JsonSchema): JsonSchema => (schema.properties ?? {}) as JsonSchema;

describe("databricks-sdk-py's registry-webhooks calls against the OpenAPI document", () => {
  for (const [name, calls] of Object.entries(CALLS)) {
    it(`${name}: the request it builds is valid, and the response holds the fields it reads`, () => {
      for (const call of calls) {
        const op = operation(call.method, call.path);
        if (call.body) assert.equal(schemaProblem(op.requestBody!.content['application/json']!.schema, call.body), undefined, JSON.stringify(call.body));
        for (const [key, value] of Object.entries(call.query ?? {})) {
          const parameter = op.parameters?.find((p) => p.name === key && p.in === 'query');
          assert.ok(parameter, `query parameter ${key} of ${name} is not documented`);
          assert.equal(schemaProblem(parameter.schema, value), undefined, `${name} ${key}=${JSON.stringify(value)}`);
        }
        const success = op.responses['200']!.content['application/json']!.schema;
        const answered = call.response.schemaPath.reduce((schema, key) => properties(schema)[key] as JsonSchema, success);
        for (const field of call.response.fields) assert.ok(field in properties(answered), `${name}'s response lacks ${field}`);
      }
    });
  }

  it('the webhook the API answers has every field RegistryWebhook reads, and its events and statuses are the SDK enums', () => {
    const webhook = properties(properties(operation('post', 'create').responses['200']!.content['application/json']!.schema).webhook as JsonSchema);
    for (const field of SDK_WEBHOOK_FIELDS) assert.ok(field in webhook, field);
    for (const field of SDK_HTTP_URL_SPEC_FIELDS) assert.ok(field in properties(webhook.http_url_spec as JsonSchema), field);
    for (const field of SDK_JOB_SPEC_FIELDS) assert.ok(field in properties(webhook.job_spec as JsonSchema), field);
    const events = ((webhook.events as JsonSchema).items as JsonSchema).enum as string[];
    assert.deepEqual(SDK_EVENTS.filter((event) => !events.includes(event)), []);
    assert.deepEqual([...((webhook.status as JsonSchema).enum as string[])].sort(), SDK_STATUSES);
  });

  it('a request with a field the SDK does not send (a typo) is refused by the document, as by the service', () => {
    const create = operation('post', 'create').requestBody!.content['application/json']!.schema;
    assert.notEqual(schemaProblem(create, { events: ['MODEL_VERSION_CREATED'], http_url_spec: { ...HTTP_URL_SPEC, enable_ssl_verfication: false } }), undefined);
    assert.notEqual(schemaProblem(create, { events: ['MODEL_VERSION_CREATED'], modelname: 'x' }), undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { API_CONTRACTS } from '../../src/functions/api-contracts.js';
import { documentedRoutes, functionTable, registeredRoute, type HttpFunction } from '../../src/functions/function-table.js';
import { apiDocument } from '../../src/functions/openapi-functions.js';
import { missingContracts, type DocumentedRoute } from '../../src/openapi/document.js';
import { requestSchema, responseSchema } from '../../src/openapi/json-schema.js';
import { hostRouteTable } from '../../src/local/route-template.js';
import { generatedDocument, operationFor, schemaProblem } from '../support/openapi-check.js';

type Operation = { operationId: string; parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown>; example?: unknown }> }; responses: Record<string, { content?: Record<string, { example?: unknown }> }> };
type Paths = Record<string, Record<string, Operation>>;

const table = () => functionTable(() => Promise.reject(new Error('not used')));
const httpFunctions = (): HttpFunction[] => table().filter((fn): fn is HttpFunction => fn.kind === 'http');
/** A path the template matches: each `{name}` as a plausible value. */
const samplePath = (template: string): string => template.replace(/\{[^}]+\}/g, 'MODEL_VERSION_CREATED');

describe('GET /api/openapi.json: generated from the function table and the zod schemas', () => {
  it('is a valid OpenAPI 3.0.3 document by @seriousme/openapi-schema-validator', async () => {
    const document = generatedDocument();
    assert.equal(document.openapi, '3.0.3');
    const result = await new Validator().validate(document);
    assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 1));
    assert.equal(result.valid, true);
  });

  it('every HTTP function of the table has a contract and is in the document, but the catch-all and the console page', () => {
    const functions = httpFunctions();
    assert.deepEqual(missingContracts(documentedRoutes(table()), API_CONTRACTS), []);
    assert.deepEqual(functions.filter((fn) => fn.undocumented !== undefined).map((fn) => fn.name).sort(), ['console', 'zz-not-found']);
    const paths = generatedDocument().paths as Paths;
    const operationIds = new Set(Object.values(paths).flatMap((operations) => Object.values(operations).map((operation) => operation.operationId)));
    for (const fn of functions.filter((f) => f.undocumented === undefined)) {
      for (const method of fn.methods.filter((m) => m !== 'HEAD')) {
        const samples = [`/${registeredRoute(fn)}`, ...(API_CONTRACTS[fn.name]?.path ? [`/api/${API_CONTRACTS[fn.name]!.path!}`] : [])].map(samplePath);
        assert.ok(samples.some((sample) => operationFor(generatedDocument(), method, sample)), `${method} ${registeredRoute(fn)} (${fn.name}) is not in the document`);
      }
    }
    assert.equal(operationIds.size, Object.values(paths).flatMap((operations) => Object.keys(operations)).length, 'operationIds are unique');
  });

  it('every path and method of the document reaches, by the host routing, the function whose contract it is', () => {
    const functions = httpFunctions().map((fn) => ({ ...fn, route: registeredRoute(fn) }));
    const routes = hostRouteTable(functions);
    const contractOf = new Map(Object.entries(API_CONTRACTS));
    for (const [path, operations] of Object.entries(generatedDocument().paths as Paths)) {
      for (const method of Object.keys(operations)) {
        const winner = routes.find(method.toUpperCase(), samplePath(path))?.fn;
        assert.ok(winner && winner.undocumented === undefined, `${method.toUpperCase()} ${path} is no route of the table (it reaches ${winner?.name ?? 'nothing'})`);
        assert.ok(contractOf.has(winner.name), `${path} is served by ${winner.name}, which has no contract`);
        const contractPath = contractOf.get(winner.name)?.path;
        assert.equal(path, contractPath ? `/api/${contractPath}` : `/${winner.route}`, `${path} is documented under another function's contract`);
      }
    }
    assert.deepEqual(Object.keys(API_CONTRACTS).filter((name) => !functions.some((fn) => fn.name === name)), [], 'a contract names no function of the table');
  });

  it('a route added without a contract is reported, and left out of the document rather than guessed', () => {
    const routes: DocumentedRoute[] = [...documentedRoutes(table()), { name: 'an-uncontracted-route', path: '/api/uncontracted', methods: ['GET'] }];
    assert.deepEqual(missingContracts(routes, API_CONTRACTS), [...missingContracts(documentedRoutes(table()), API_CONTRACTS), 'an-uncontracted-route']);
    assert.equal((apiDocument(routes).paths as Paths)['/api/uncontracted'], undefined);
  });

  it('documents every error code as {error_code, message}, with the codes of each status', () => {
    const document = generatedDocument();
    const responses = (document.components as { responses: Record<string, { content: { 'application/json': { schema: Record<string, unknown> } } }> }).responses;
    const listed = new Set(Object.values(responses).flatMap((response) => (response.content['application/json'].schema as { properties: { error_code: { enum: string[] } } }).properties.error_code.enum));
    for (const code of ['MALFORMED_REQUEST', 'INVALID_PARAMETER_VALUE', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_DOES_NOT_EXIST', 'ENDPOINT_NOT_FOUND', 'LENGTH_REQUIRED', 'REQUEST_TOO_LARGE', 'REQUEST_LIMIT_EXCEEDED', 'INTERNAL_ERROR', 'TARGET_UNREACHABLE', 'TEMPORARILY_UNAVAILABLE']) {
      assert.ok(listed.has(code), `${code} is in no error response`);
    }
    const create = (document.paths as Paths)['/api/2.0/mlflow/registry-webhooks/create']!.post!;
    assert.ok(create.responses['400'] && create.responses['401'] && create.responses['403'] && create.responses['429'] && create.responses['503']);
  });

  it('states the security of each route: bearer by default, none for the public documents, the MLflow signature on ingest', () => {
    const document = generatedDocument();
    const paths = document.paths as Record<string, Record<string, { security?: unknown[] }>>;
    assert.deepEqual(document.security, [{ bearer: [] }]);
    assert.deepEqual(paths['/api/openapi.json']!.get!.security, []);
    assert.deepEqual(paths['/api/schemas/events/{event}.json']!.get!.security, []);
    assert.deepEqual(paths['/api/ingest/mlflow']!.post!.security, [{ mlflowSignature: [] }]);
    assert.deepEqual(paths['/api/health']!.get!.security, [{}, { bearer: [] }]);
    assert.deepEqual(paths['/api/2.0/mlflow/registry-webhooks/publish']!.post!.security, [{ bearer: [] }]);
  });

  it("the README's examples in the document match their schemas", () => {
    let checked = 0;
    for (const contract of Object.values(API_CONTRACTS)) {
      const { request, response } = contract.examples ?? {};
      const requestSchemaOf = contract.body ?? contract.input;
      if (request !== undefined && requestSchemaOf) {
        assert.equal(schemaProblem(requestSchema(requestSchemaOf), request), undefined, `${contract.summary}: request example`);
        assert.equal(requestSchemaOf.safeParse(request).success, true, `${contract.summary}: the handler's schema refuses its example`);
        checked += 1;
      }
      if (response !== undefined) {
        assert.equal(schemaProblem(responseSchema(contract.success.schema), response), undefined, `${contract.summary}: response example`);
        checked += 1;
      }
    }
    assert.ok(checked >= 8);
  });

  it('a GET route takes its fields as query parameters, a list repeated; a POST the same fields as its JSON body', () => {
    const paths = generatedDocument().paths as Paths;
    const list = paths['/api/2.0/mlflow/registry-webhooks/list']!;
    const events = list.get!.parameters!.find((parameter) => parameter.name === 'events') as unknown as { in: string; style: string; explode: boolean; schema: { type: string } };
    assert.deepEqual([events.in, events.style, events.explode, events.schema.type], ['query', 'form', true, 'array']);
    const maxResults = list.get!.parameters!.find((parameter) => parameter.name === 'max_results') as unknown as { schema: { type: string } };
    assert.equal(maxResults.schema.type, 'number');
    assert.ok(list.post!.requestBody!.content['application/json']);
    assert.deepEqual(Object.keys(paths['/api/2.0/mlflow/registry-webhooks/publish']!.post!.requestBody!.content).sort(), ['application/cloudevents+json', 'application/cloudevents-batch+json', 'application/json']);
  });
});

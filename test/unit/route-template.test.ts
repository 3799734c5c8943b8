import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRoute, parseRouteTemplate } from '../../src/local/route-template.js';

describe('route templates', () => {
  it('match literals case-insensitively, parameters and catch-alls', () => {
    assert.deepEqual(matchRoute(parseRouteTemplate('2.0/mlflow/registry-webhooks/create'), '/2.0/MLflow/registry-webhooks/create'), {});
    assert.equal(matchRoute(parseRouteTemplate('2.0/mlflow/registry-webhooks/create'), '/2.0/mlflow/registry-webhooks/create/x'), undefined);
    assert.deepEqual(matchRoute(parseRouteTemplate('items/{id}'), '/items/a%2Fb'), { id: 'a/b' });
    assert.deepEqual(matchRoute(parseRouteTemplate('{*path}'), '/a/b/c'), { path: 'a/b/c' });
  });
});

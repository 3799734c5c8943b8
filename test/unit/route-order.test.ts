import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { functionTable, registeredRoute, type HttpFunction } from '../../src/functions/function-table.js';
import { compareFunctionNames, hostRouteTable, parseRouteTemplate, samplePath } from '../../src/local/route-template.js';

/** The HTTP functions with the routes they are registered with (host.json's routePrefix is empty). */
const httpFunctions = (): HttpFunction[] =>
  functionTable(() => Promise.reject(new Error('not used')))
    .filter((fn): fn is HttpFunction => fn.kind === 'http')
    .map((fn) => ({ ...fn, route: registeredRoute(fn) }));

describe('routes in the Functions host order (function names sorted ignoring case, first match wins)', () => {
  it('every HTTP function of the table is reached by its own route and each of its methods: nothing is shadowed', () => {
    const functions = httpFunctions();
    const routes = hostRouteTable(functions);
    const shadowed: string[] = [];
    for (const fn of functions) {
      const path = samplePath(parseRouteTemplate(fn.route));
      for (const method of fn.methods) {
        const winner = routes.find(method, path)?.fn.name;
        if (winner !== fn.name) shadowed.push(`${method} /api${path} (${fn.name}) reaches ${winner ?? 'nothing'}`);
      }
    }
    assert.deepEqual(shadowed, []);
  });

  it('the catch-all sorts after every other function name', () => {
    const functions = httpFunctions();
    const catchAlls = functions.filter((fn) => parseRouteTemplate(fn.route).segments.some((segment) => segment.kind === 'catchAll'));
    const last = [...functions].sort((a, b) => compareFunctionNames(a.name, b.name)).at(-1);
    assert.equal(catchAlls.length, 1);
    assert.equal(last?.name, catchAlls[0]?.name);
  });

  it('the order is the host\'s: ordinal, ignoring case; the first matching route wins, not the most specific', () => {
    assert.ok(compareFunctionNames('Webhooks-list', 'webhooks-create') > 0);
    assert.ok(compareFunctionNames('a-b', 'A_B') < 0, "'-' sorts before '_'");
    assert.equal(compareFunctionNames('Health', 'health'), 0);
    const table = hostRouteTable([
      { name: 'b-specific', route: 'items/list', methods: ['GET'] },
      { name: 'a-catch-all', route: '{*path}', methods: ['GET'] },
      { name: 'c-post', route: 'items/list', methods: ['POST'] },
    ]);
    assert.equal(table.find('GET', '/items/list')?.fn.name, 'a-catch-all');
    assert.equal(table.find('POST', '/items/list')?.fn.name, 'c-post');
    assert.equal(table.find('DELETE', '/items/list'), undefined);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Module, { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { functionTable, QUEUE_CONNECTION } from '../../src/function-table.js';

interface Registration {
  name: string;
  bindings: Record<string, { type: string; direction: string; route?: string; methods?: string[]; authLevel?: string; queueName?: string; connection?: string }>;
}

/**
 * The Functions worker gives @azure/functions a module named `@azure/functions-core`; registrations go
 * through it. Standing in for it here captures exactly what the host would be told by src/app.ts.
 */
function captureRegistrations(): Registration[] {
  const registrations: Registration[] = [];
  const fakePath = '/virtual/@azure/functions-core.js';
  const moduleInternals = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === '@azure/functions-core' ? fakePath : resolve.call(this, request, ...rest);
  };
  const fake = new Module(fakePath);
  fake.loaded = true;
  fake.exports = {
    setProgrammingModel: () => undefined,
    registerHook: () => ({ dispose: () => undefined }),
    registerFunction: (metadata: Registration) => {
      registrations.push(metadata);
      return { dispose: () => undefined };
    },
  };
  createRequire(import.meta.url).cache[fakePath] = fake;
  return registrations;
}

describe('src/app.ts', () => {
  it('registers every function of the table with the Functions host, as the table says', async () => {
    const registrations = captureRegistrations();
    process.env.WEBHOOKS_SECRET_KEY = randomBytes(32).toString('base64');
    process.env.AzureWebJobsStorage = 'UseDevelopmentStorage=true';
    await import('../../src/app.js');
    const table = functionTable(() => Promise.reject(new Error('not used')));
    assert.deepEqual(
      registrations.map((registration) => registration.name),
      table.map((fn) => fn.name),
    );
    for (const fn of table) {
      const registration = registrations.find((candidate) => candidate.name === fn.name);
      const trigger = Object.values(registration?.bindings ?? {}).find((binding) => binding.direction === 'in');
      if (fn.kind === 'http') {
        assert.deepEqual(
          { type: trigger?.type, route: trigger?.route, methods: trigger?.methods, authLevel: trigger?.authLevel },
          { type: 'httpTrigger', route: fn.route, methods: fn.methods, authLevel: 'anonymous' },
          fn.name,
        );
      } else {
        assert.deepEqual({ type: trigger?.type, queueName: trigger?.queueName, connection: trigger?.connection }, { type: 'queueTrigger', queueName: fn.queueName, connection: QUEUE_CONNECTION }, fn.name);
      }
    }
  });

  it('package.json main points at the compiled app the host loads', async () => {
    const pkg = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(new URL('../../package.json', import.meta.url), 'utf8'))) as { main: string };
    assert.equal(pkg.main, 'dist/src/app.js');
  });
});

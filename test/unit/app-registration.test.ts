import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { functionTable, QUEUE_CONNECTION, registeredRoute } from '../../src/functions/function-table.js';
import { installWorkerCore } from '../../src/local/worker-core.js';

const UNRESOLVED = '@Microsoft.KeyVault(SecretUri=https://example-vault.vault.azure.net/secrets/webhooks-secret-key/)';

/**
 * The Functions worker gives @azure/functions a module named `@azure/functions-core`; registrations go
 * through it. The local runtime's stand-in for it captures exactly what the host would be told by src/app.ts,
 * and invokes through the library's own conversions. The settings are broken on purpose (an unresolved Key
 * Vault reference, as Azure leaves it when the app's identity cannot read the secret): registration must not
 * depend on them.
 */
describe('src/app.ts', () => {
  const core = installWorkerCore();
  process.env.WEBHOOKS_SECRET_KEY = UNRESOLVED;
  process.env.AzureWebJobsStorage = 'UseDevelopmentStorage=true';
  const loaded = import('../../src/app.js');

  it('registers every function of the table with the Functions host, as the table says, whatever the settings', async () => {
    await loaded;
    const table = functionTable(() => Promise.reject(new Error('not used')));
    assert.deepEqual(
      core.functions.map((fn) => fn.name),
      table.map((fn) => fn.name),
    );
    for (const fn of table) {
      const trigger = core.functions.find((candidate) => candidate.name === fn.name)?.trigger.binding;
      if (fn.kind === 'http') {
        assert.deepEqual(
          { type: trigger?.type, route: trigger?.route, methods: trigger?.methods, authLevel: (trigger as { authLevel?: string } | undefined)?.authLevel },
          { type: 'httpTrigger', route: registeredRoute(fn), methods: fn.methods, authLevel: 'anonymous' },
          fn.name,
        );
      } else if (fn.kind === 'queue') {
        assert.deepEqual({ type: trigger?.type, queueName: trigger?.queueName, connection: trigger?.connection }, { type: 'queueTrigger', queueName: fn.queueName, connection: QUEUE_CONNECTION }, fn.name);
      } else {
        const timer = trigger as { type?: string; schedule?: string } | undefined;
        assert.deepEqual({ type: timer?.type, schedule: timer?.schedule }, { type: 'timerTrigger', schedule: fn.schedule }, fn.name);
      }
    }
  });

  it('with an unresolved setting every HTTP function answers 503 naming it, every queue function fails the message, and an error is logged', async () => {
    await loaded;
    for (const fn of core.functions) {
      const logs: string[] = [];
      const log = (level: string, _category: string, message: string) => logs.push(`${level}: ${message}`);
      if (fn.trigger.binding.type === 'httpTrigger') {
        const method = fn.trigger.binding.methods?.[0] ?? 'GET';
        const url = `http://localhost/${fn.trigger.binding.route?.replace('{*path}', 'anything') ?? ''}`;
        const response = await fn.invoke('inv-1', { http: { method, url, headers: {}, query: {}, params: {} } }, {}, log);
        const body = JSON.parse(Buffer.from(response?.http?.body && 'bytes' in response.http.body && response.http.body.bytes ? response.http.body.bytes : []).toString()) as Record<string, string>;
        assert.equal(response?.http?.statusCode, '503', fn.name);
        assert.equal(body.error_code, 'TEMPORARILY_UNAVAILABLE', fn.name);
        assert.match(body.message ?? '', /WEBHOOKS_SECRET_KEY/, fn.name);
        assert.doesNotMatch(body.message ?? '', /example-vault/, `${fn.name} does not repeat the value`);
      } else {
        await assert.rejects(fn.invoke('inv-2', { string: '{"event":"MODEL_VERSION_CREATED"}' }, { Id: { string: 'm1' }, DequeueCount: { int: 1 } }, log), /WEBHOOKS_SECRET_KEY/, fn.name);
      }
      assert.ok(logs.some((line) => line.startsWith('error: ') && line.includes('WEBHOOKS_SECRET_KEY')), `${fn.name} logs the setting as an error`);
    }
  });

  it('registers retention and the Unity Catalog poller on app-setting expressions, and a poison-queue timer', () => {
    const timers = functionTable(() => Promise.reject(new Error('not used'))).filter((fn) => fn.kind === 'timer');
    assert.deepEqual(
      timers.map((fn) => [fn.name, fn.kind === 'timer' ? fn.schedule : '']),
      [
        ['retention', '%RETENTION_SCHEDULE%'],
        ['poison-queues', '0 */5 * * * *'],
        ['unity-catalog-poll', '%UNITY_CATALOG_POLL_SCHEDULE%'],
      ],
    );
  });

  it('package.json main points at the compiled app the host loads', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { main: string };
    assert.equal(pkg.main, 'dist/src/app.js');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { changeEventId, fromRanges, pendingEventsOf, toRanges, type ModelState } from '../../src/unity-catalog/model-changes.js';
import { readUnityCatalogSource, UNITY_CATALOG_SETTINGS } from '../../src/unity-catalog/settings.js';
import { unityCatalogStatus } from '../../src/unity-catalog/status.js';

const STRICT = { allowHttp: false, allowPrivate: false };
const base = { UNITY_CATALOG_WORKSPACE_URL: 'https://adb-1234567890123456.7.azuredatabricks.net', UNITY_CATALOG_MODELS: 'main.ml.*, main.ml.fraud' };
const invalid = (env: Record<string, string>, policy = STRICT) => {
  const source = readUnityCatalogSource({ ...base, ...env }, policy);
  return source.kind === 'invalid' ? source.setting : source.kind;
};

describe('Unity Catalog settings', () => {
  it('are off without a workspace, and on with the defaults otherwise', () => {
    assert.deepEqual(readUnityCatalogSource({}, STRICT), { kind: 'off' });
    assert.deepEqual(readUnityCatalogSource(base, STRICT), {
      kind: 'on',
      settings: {
        workspaceUrl: 'https://adb-1234567890123456.7.azuredatabricks.net',
        models: [
          { catalog: 'main', schema: 'ml', model: '*' },
          { catalog: 'main', schema: 'ml', model: 'fraud' },
        ],
        credential: { kind: 'managed-identity' },
        requestBudget: 500,
        emitBaseline: false,
      },
    });
    const oauth = readUnityCatalogSource({ ...base, UNITY_CATALOG_CLIENT_ID: 'id', UNITY_CATALOG_CLIENT_SECRET: 'secret', UNITY_CATALOG_REQUEST_BUDGET: '50', UNITY_CATALOG_EMIT_BASELINE: 'true' }, STRICT);
    assert.ok(oauth.kind === 'on');
    assert.deepEqual([oauth.settings.credential, oauth.settings.requestBudget, oauth.settings.emitBaseline], [{ kind: 'oauth', clientId: 'id', clientSecret: 'secret' }, 50, true]);
  });

  it('a bad value names its setting and turns off only this source, never the app', () => {
    assert.equal(invalid({ UNITY_CATALOG_WORKSPACE_URL: 'http://127.0.0.1:8080' }), UNITY_CATALOG_SETTINGS.workspaceUrl, 'http only with the dev flag, as for a job webhook');
    assert.equal(invalid({ UNITY_CATALOG_WORKSPACE_URL: 'http://127.0.0.1:8080' }, { allowHttp: true, allowPrivate: true }), 'on');
    assert.equal(invalid({ UNITY_CATALOG_WORKSPACE_URL: 'https://adb-1.azuredatabricks.net/some/path' }), UNITY_CATALOG_SETTINGS.workspaceUrl);
    assert.equal(invalid({ UNITY_CATALOG_WORKSPACE_URL: 'not a url' }), UNITY_CATALOG_SETTINGS.workspaceUrl);
    for (const models of ['', 'main.ml', 'main.*.*', '*.ml.fraud', 'main.ml.fraud.v1', 'main.ml.fr aud']) assert.equal(invalid({ UNITY_CATALOG_MODELS: models }), UNITY_CATALOG_SETTINGS.models, models);
    assert.equal(invalid({ UNITY_CATALOG_CLIENT_ID: 'id' }), UNITY_CATALOG_SETTINGS.clientSecret);
    assert.equal(invalid({ UNITY_CATALOG_CLIENT_SECRET: 'secret' }), UNITY_CATALOG_SETTINGS.clientId);
    assert.equal(invalid({ UNITY_CATALOG_CLIENT_ID: 'id', UNITY_CATALOG_CLIENT_SECRET: 's', UNITY_CATALOG_TOKEN: 't' }), UNITY_CATALOG_SETTINGS.token);
    for (const budget of ['0', '9', 'lots', '1.5', '100001']) assert.equal(invalid({ UNITY_CATALOG_REQUEST_BUDGET: budget }), UNITY_CATALOG_SETTINGS.requestBudget, budget);
    assert.equal(invalid({ UNITY_CATALOG_EMIT_BASELINE: 'yes' }), UNITY_CATALOG_SETTINGS.emitBaseline);
    assert.equal(invalid({ UNITY_CATALOG_POLL_SCHEDULE: '*/30 * * * *' }), UNITY_CATALOG_SETTINGS.pollSchedule, 'five fields');
    assert.equal(invalid({ UNITY_CATALOG_TOKEN: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/uc)' }), UNITY_CATALOG_SETTINGS.token);
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: Buffer.alloc(32).toString('base64'), ...base, UNITY_CATALOG_MODELS: 'bad' });
    assert.equal(config.unityCatalog.kind, 'invalid', 'the rest of the configuration loads');
  });

  it('health names a bad setting to anyone, and its problem (never its value) to admins', async () => {
    const source = readUnityCatalogSource({ ...base, UNITY_CATALOG_TOKEN: 't', UNITY_CATALOG_CLIENT_ID: 'id', UNITY_CATALOG_CLIENT_SECRET: 'very-secret-value' }, STRICT);
    assert.deepEqual(await unityCatalogStatus(source, undefined, false), { status: 'misconfigured', problems: 1 });
    const detail = await unityCatalogStatus(source, undefined, true);
    assert.equal(detail?.detail?.setting, UNITY_CATALOG_SETTINGS.token);
    assert.ok(!JSON.stringify(detail).includes('very-secret-value'));
    assert.equal(await unityCatalogStatus({ kind: 'off' }, undefined, true), undefined);
  });
});

describe('Unity Catalog changes', () => {
  const before: ModelState = { createdAt: 5, ready: [1, 2], aliases: { champion: 2, challenger: 1 } };
  const now = { fullName: 'main.ml.fraud', createdAt: 5, readyVersions: [1, 2, 3], aliases: { champion: 3, canary: 3 } };

  it('are the new READY versions, the aliases set, moved and removed, with ids from the change and the generation it replaces', () => {
    const events = pendingEventsOf('https://w', before, 7, now, 1000);
    assert.deepEqual(
      events.map(({ event_id: _id, ...rest }) => rest),
      [
        { event: 'MODEL_VERSION_CREATED', version: '3', model_name: 'main.ml.fraud', event_timestamp: 1000 },
        { event: 'MODEL_VERSION_ALIAS_CREATED', alias: 'canary', version: '3', model_name: 'main.ml.fraud', event_timestamp: 1000 },
        { event: 'MODEL_VERSION_ALIAS_CREATED', alias: 'champion', version: '3', previous_version: '2', model_name: 'main.ml.fraud', event_timestamp: 1000 },
        { event: 'MODEL_VERSION_ALIAS_DELETED', alias: 'challenger', version: '1', model_name: 'main.ml.fraud', event_timestamp: 1000 },
      ],
    );
    assert.deepEqual(pendingEventsOf('https://w', before, 7, now, 99_999).map((event) => event.event_id), events.map((event) => event.event_id), 'never the time it was seen');
    assert.notDeepEqual(pendingEventsOf('https://w', before, 8, now, 1000).map((event) => event.event_id), events.map((event) => event.event_id), 'another generation, another change');
    assert.notEqual(changeEventId('https://w', 'main.ml.fraud', 7, { event: 'MODEL_VERSION_CREATED', version: '3' }), changeEventId('https://w', 'main.ml.churn', 7, { event: 'MODEL_VERSION_CREATED', version: '3' }));
    assert.deepEqual(pendingEventsOf('https://w', before, 7, { ...now, readyVersions: [1, 2], aliases: before.aliases }, 1), []);
  });

  it('a model created again under its name is a new model', () => {
    assert.deepEqual(pendingEventsOf('https://w', before, 7, { ...now, createdAt: 6, readyVersions: [1], aliases: {} }, 1).map((event) => event.event), ['REGISTERED_MODEL_CREATED', 'MODEL_VERSION_CREATED']);
  });

  it('versions are stored as ranges', () => {
    assert.equal(toRanges([5, 1, 2, 3, 9, 10, 3]), '1-3,5,9-10');
    assert.deepEqual(fromRanges('1-3,5,9-10'), [1, 2, 3, 5, 9, 10]);
    assert.deepEqual(fromRanges(''), []);
    assert.throws(() => fromRanges('3-1'), /unreadable/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { principalWith, type Principal } from '../../src/auth/principal.js';
import { StaticTokenAuthenticator } from '../../src/auth/static-tokens.js';
import { parseAuthTokens } from '../../src/auth/static-tokens.js';
import { listDeliveries, redeliver } from '../../src/pipeline/deliveries-api.js';
import { processEventMessage } from '../../src/pipeline/fan-out.js';
import { publishEvents } from '../../src/pipeline/publish-events.js';
import { publishCloudEvents } from '../../src/sources/cloudevents.js';
import { testWebhook } from '../../src/pipeline/test-webhook.js';
import { ApiError, type ErrorCode } from '../../src/shared/errors.js';
import { grantFor } from '../../src/webhooks/permissions.js';
import { createWebhook, deleteWebhook, listWebhooks, updateWebhook } from '../../src/webhooks/webhook-service.js';
import type { ApiWebhook } from '../../src/webhooks/api-webhook.js';
import { admin, manager, publisher, webhookDeps } from '../support/deps.js';
import { ManualClock, MemoryQueue } from '../support/memory.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

/** A fraud team's manager token: the fraud-* models and churn-model, exactly. */
const team: Principal = principalWith('token:manager:11111111', [{ role: 'manager', models: ['fraud-*', 'churn-model'], via: 'WEBHOOKS_AUTH_TOKENS' }]);
/** The fraud team's publisher token. */
const teamPublisher: Principal = principalWith('token:publisher:22222222', [{ role: 'publisher', models: ['fraud-*'], via: 'WEBHOOKS_AUTH_TOKENS' }]);
const TEAM_GRANT = 'manager[fraud-*|churn-model] (WEBHOOKS_AUTH_TOKENS)';

const hook = (model: string | undefined) => ({
  ...(model !== undefined ? { model_name: model } : {}),
  events: ['MODEL_VERSION_CREATED'],
  http_url_spec: { url: 'https://hooks.example.com/x', secret: 'team-secret' },
});

async function rejects(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

/** Webhooks of fraud-a, churn-model, ads and a registry-wide one, created by an admin. */
async function seeded() {
  const setup = webhookDeps();
  const ids: Record<string, string> = {};
  for (const model of ['fraud-a', 'churn-model', 'ads', undefined]) ids[model ?? 'registry-wide'] = (await createWebhook(setup.deps, admin, hook(model))).webhook.id;
  setup.audit.entries.length = 0;
  const stored = () => JSON.stringify([...setup.store.rows.entries()]);
  return { ...setup, ids, stored };
}

describe('grants', () => {
  it('match exact names, prefixes and *; admins and unscoped roles cover every model, never registry-wide for non-admins', () => {
    assert.equal(grantFor(team, 'manage', 'fraud-')?.role, 'manager');
    assert.equal(grantFor(team, 'manage', 'fraud-x/y z?'), team.grants?.[0]);
    assert.equal(grantFor(team, 'manage', 'churn-model'), team.grants?.[0]);
    for (const outside of ['churn-model-2', 'churn', 'Fraud-a', 'xfraud-a', '']) assert.equal(grantFor(team, 'manage', outside), undefined, outside);
    assert.equal(grantFor(team, 'manage', undefined), undefined);
    assert.equal(grantFor(team, 'publish', 'fraud-a'), undefined, 'a manager grant never publishes');
    const everyModel = principalWith('p', [{ role: 'publisher', models: ['*'], via: 'x' }]);
    assert.ok(grantFor(everyModel, 'publish', 'a|b]*'), '* covers names no other pattern can');
    assert.equal(grantFor(manager, 'manage', undefined), undefined);
    assert.equal(grantFor(admin, 'manage', undefined)?.role, 'admin');
    const both = principalWith('p', [{ role: 'manager', models: ['a'], via: 'groups=g1' }, { role: 'manager', via: 'roles=Webhooks.Manage' }]);
    assert.equal(grantFor(both, 'manage', 'b')?.via, 'roles=Webhooks.Manage');
  });
});

describe('a token listed in several entries', () => {
  it('holds the grants of every entry, not only of the first', async () => {
    const token = 'fraud-team-token-0123456789';
    const authenticator = new StaticTokenAuthenticator(parseAuthTokens(`manager[fraud-*]:${token},publisher[fraud-*]:${token},manager[churn-model]:${token}`, 'WEBHOOKS_AUTH_TOKENS'));
    const result = await authenticator.authenticate(token);
    assert.equal(result.kind, 'principal');
    if (result.kind !== 'principal') return;
    assert.match(result.principal.id, /^token:manager:[0-9a-f]{8}$/);
    assert.equal(grantFor(result.principal, 'publish', 'fraud-a')?.role, 'publisher');
    assert.equal(grantFor(result.principal, 'manage', 'churn-model')?.models?.join(), 'churn-model');
    assert.equal(grantFor(result.principal, 'manage', 'ads'), undefined);
  });
});

describe('create with a scoped grant', () => {
  it('in scope: creates, and the audit entry names the principal and the grant', async () => {
    const { deps, audit } = webhookDeps();
    const { webhook } = await createWebhook(deps, team, hook('fraud-a'));
    assert.equal(webhook.model_name, 'fraud-a');
    assert.equal((await createWebhook(deps, team, hook('churn-model'))).webhook.model_name, 'churn-model');
    assert.deepEqual(audit.entries.map((entry) => [entry.principal, entry.grant]), [
      [team.id, TEAM_GRANT],
      [team.id, TEAM_GRANT],
    ]);
    assert.ok(!JSON.stringify(audit.entries).includes('team-secret'));
  });

  it('out of scope: 403 naming the model, and nothing is stored or audited', async () => {
    const { deps, store, audit } = webhookDeps();
    await rejects(createWebhook(deps, team, hook('ads')), 'PERMISSION_DENIED', /model_name 'ads'.*manager\[fraud-\*\|churn-model\]/);
    await rejects(createWebhook(deps, team, hook('churn-model-2')), 'PERMISSION_DENIED', /'churn-model-2'/);
    await rejects(createWebhook(deps, team, { ...hook(undefined), events: ['REGISTERED_MODEL_CREATED'] }), 'PERMISSION_DENIED', /Only an admin/);
    assert.equal(store.rows.size, 0);
    assert.equal(audit.entries.length, 0);
  });

  it('unscoped: a manager creates for any model (audited as its role), only an admin registry-wide', async () => {
    const { deps, audit } = webhookDeps();
    await createWebhook(deps, manager, hook('ads'));
    await rejects(createWebhook(deps, manager, hook(undefined)), 'PERMISSION_DENIED', /Only an admin/);
    await createWebhook(deps, admin, hook(undefined));
    assert.deepEqual(audit.entries.map((entry) => entry.grant), ['manager (role)', 'admin (role)']);
  });
});

describe('update and delete with a scoped grant', () => {
  it('in scope: updates and deletes; the model name stays fixed', async () => {
    const { deps, ids, store, audit } = await seeded();
    const id = ids['fraud-a'] ?? '';
    assert.equal((await updateWebhook(deps, team, { id, description: 'mine' })).webhook.description, 'mine');
    await rejects(updateWebhook(deps, team, { id, model_name: 'ads' }), 'INVALID_PARAMETER_VALUE', /Unknown parameter 'model_name'/);
    await deleteWebhook(deps, team, { id });
    assert.equal(await store.get(id), undefined);
    assert.deepEqual(audit.entries.map((entry) => `${entry.action} ${entry.grant ?? ''}`), [`update ${TEAM_GRANT}`, `delete ${TEAM_GRANT}`]);
  });

  it("out of scope: another team's webhook is 403 naming its model, a registry-wide one 403, an unknown id 404; nothing changes", async () => {
    const { deps, ids, audit, stored } = await seeded();
    const before = stored();
    const unknown = 'f'.repeat(32);
    const id = ids.ads ?? '';
    await rejects(updateWebhook(deps, team, { id, status: 'DISABLED' }), 'PERMISSION_DENIED', /may not update webhooks for model_name 'ads'.*manager\[fraud-\*\|churn-model\]/);
    await rejects(deleteWebhook(deps, team, { id }), 'PERMISSION_DENIED', /may not delete webhooks for model_name 'ads'/);
    const wide = ids['registry-wide'] ?? '';
    await rejects(updateWebhook(deps, team, { id: wide, status: 'DISABLED' }), 'PERMISSION_DENIED', new RegExp(`'${wide}' is registry-wide.*only an admin`));
    await rejects(deleteWebhook(deps, team, { id: wide }), 'PERMISSION_DENIED', /registry-wide.*only an admin/);
    await rejects(updateWebhook(deps, team, { id: unknown, status: 'DISABLED' }), 'RESOURCE_DOES_NOT_EXIST', /does not exist/);
    await rejects(deleteWebhook(deps, team, { id: unknown }), 'RESOURCE_DOES_NOT_EXIST', /does not exist/);
    assert.equal(stored(), before);
    assert.equal(audit.entries.length, 0);
  });

  it('unscoped: a manager updates and deletes any model, registry-wide stays 403', async () => {
    const { deps, ids, stored } = await seeded();
    await updateWebhook(deps, manager, { id: ids.ads, description: 'ops' });
    await rejects(updateWebhook(deps, manager, { id: ids['registry-wide'], description: 'x' }), 'PERMISSION_DENIED', /registry-wide.*only an admin/);
    const before = stored();
    await rejects(deleteWebhook(deps, manager, { id: ids['registry-wide'] }), 'PERMISSION_DENIED', /registry-wide.*only an admin/);
    assert.equal(stored(), before);
    await deleteWebhook(deps, manager, { id: ids.ads });
  });
});

describe('list with a scoped grant', () => {
  it('in scope: without model_name, only the permitted models, filtered before paging; with one, that model', async () => {
    const { deps, store } = webhookDeps();
    const models = ['a', 'fraud-1', 'b', 'fraud-2', 'c', 'churn-model', 'd', 'e', 'fraud-3', 'zz'];
    for (const model of models) await createWebhook(deps, admin, hook(model));
    await createWebhook(deps, admin, hook(undefined));
    const seen: ApiWebhook[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await listWebhooks(deps, team, { max_results: 1, ...(token ? { page_token: token } : {}) });
      pages += 1;
      assert.equal(page.webhooks?.length, 1, 'a page is never empty while a next page exists');
      seen.push(...(page.webhooks ?? []));
      token = page.next_page_token;
    } while (token);
    assert.deepEqual(seen.map((webhook) => webhook.model_name).sort(), ['churn-model', 'fraud-1', 'fraud-2', 'fraud-3']);
    assert.equal(pages, 4);
    const all = await listWebhooks(deps, team, { max_results: 4 });
    assert.equal(all.webhooks?.length, 4);
    assert.equal(all.next_page_token, undefined, 'no next page when the permitted ones are exhausted');
    assert.deepEqual((await listWebhooks(deps, team, { model_name: 'fraud-2' })).webhooks?.map((webhook) => webhook.model_name), ['fraud-2']);
    assert.equal(store.rows.size, models.length + 1);
  });

  it('out of scope: 403 naming the model', async () => {
    const { deps } = await seeded();
    await rejects(listWebhooks(deps, team, { model_name: 'ads' }), 'PERMISSION_DENIED', /model_name 'ads'/);
    await rejects(listWebhooks(deps, teamPublisher, {}), 'PERMISSION_DENIED', /Role 'publisher' may not list webhooks/);
  });

  it('unscoped: a manager lists every model, never registry-wide; an admin everything', async () => {
    const { deps } = await seeded();
    assert.deepEqual((await listWebhooks(deps, manager, {})).webhooks?.map((webhook) => webhook.model_name).sort(), ['ads', 'churn-model', 'fraud-a']);
    assert.equal((await listWebhooks(deps, admin, {})).webhooks?.length, 4);
    assert.equal((await listWebhooks(deps, manager, { model_name: 'ads' })).webhooks?.length, 1);
  });
});

describe('publish with a scoped grant', () => {
  const publishDeps = () => {
    const eventQueue = new MemoryQueue();
    return { deps: { eventQueue, clock: new ManualClock().read }, eventQueue };
  };
  const created = (model: string) => ({ event: 'MODEL_VERSION_CREATED', model_name: model, version: '1' });

  it('in scope: every event for a permitted model is enqueued', async () => {
    const { deps, eventQueue } = publishDeps();
    assert.equal((await publishEvents(deps, teamPublisher, { events: [created('fraud-a'), created('fraud-b')] })).event_ids.length, 2);
    assert.equal((await publishEvents(deps, teamPublisher, created('fraud-c'))).event_ids.length, 1);
    const cloudEvent = { specversion: '1.0', id: 'ce-in', source: '/registry', type: 'MODEL_VERSION_CREATED', data: { model_name: 'fraud-d', version: '1' } };
    assert.deepEqual((await publishCloudEvents(deps, teamPublisher, cloudEvent, false)).event_ids, ['ce-in']);
    assert.equal(eventQueue.messages.length, 3);
  });

  it('out of scope: one event for another model refuses the whole call, naming the first such model', async () => {
    const { deps, eventQueue } = publishDeps();
    await rejects(publishEvents(deps, teamPublisher, { events: [created('fraud-a'), created('ads'), created('churn')] }), 'PERMISSION_DENIED', /events\[1\] for model_name 'ads'/);
    await rejects(publishEvents(deps, teamPublisher, created('churn-model')), 'PERMISSION_DENIED', /model_name 'churn-model'/);
    await rejects(publishEvents(deps, team, created('fraud-a')), 'PERMISSION_DENIED', /Role 'manager' may not publish/);
    const cloudEvent = (model: string, id: string) => ({ specversion: '1.0', id, source: '/registry', type: 'MODEL_VERSION_CREATED', data: { model_name: model, version: '1' } });
    await rejects(publishCloudEvents(deps, teamPublisher, cloudEvent('ads', 'ce-1'), false), 'PERMISSION_DENIED', /publish events for model_name 'ads'/);
    await rejects(publishCloudEvents(deps, teamPublisher, [cloudEvent('fraud-a', 'ce-2'), cloudEvent('ads', 'ce-3')], true), 'PERMISSION_DENIED', /event \[1\] for model_name 'ads'/);
    assert.equal(eventQueue.messages.length, 0);
  });

  it('unscoped: a publisher publishes for any model', async () => {
    const { deps, eventQueue } = publishDeps();
    await publishEvents(deps, publisher, { events: [created('ads'), created('fraud-a')] });
    assert.equal(eventQueue.messages.length, 1);
  });
});

describe('event ids across teams', () => {
  it("one team's event_id never suppresses another model's event: ids are de-duplicated per model", async () => {
    const setup = pipelineDeps();
    const fraud = makeWebhook({ modelName: 'fraud-a' });
    const ads = makeWebhook({ modelName: 'ads' });
    for (const webhook of [fraud, ads]) {
      await setup.webhooks.insert(webhook);
      setup.sender.answer(webhook.id, { kind: 'response', status: 200, body: 'ok' });
    }
    const eventQueue = new MemoryQueue();
    const publish = { eventQueue, clock: setup.clock.read };
    const adsPublisher = principalWith('token:publisher:33333333', [{ role: 'publisher', models: ['ads'], via: 'WEBHOOKS_AUTH_TOKENS' }]);
    // The ads team publishes first, with an id the fraud team's registry also uses (or that it guessed).
    await publishEvents(publish, adsPublisher, { event: 'MODEL_VERSION_CREATED', model_name: 'ads', version: '1', event_id: 'registry-1' });
    await publishCloudEvents(publish, teamPublisher, { specversion: '1.0', id: 'registry-1', source: '/fraud', type: 'MODEL_VERSION_CREATED', data: { model_name: 'fraud-a', version: '7' } }, false);
    await publishEvents(publish, teamPublisher, { event: 'MODEL_VERSION_CREATED', model_name: 'fraud-a', version: '7', event_id: 'registry-1' });
    for (const [index, message] of eventQueue.messages.entries()) {
      await processEventMessage(setup.deps, message.body, { id: message.id, dequeueCount: 1, insertedAt: setup.clock.read() + index, text: message.text });
    }
    const delivered = (webhookId: string) => [...setup.deliveries.rows.values()].filter((delivery) => delivery.webhookId === webhookId).length;
    assert.equal(delivered(ads.id), 1);
    assert.equal(delivered(fraud.id), 1, "the fraud event is delivered once: not suppressed by the ads team's id, its own re-publish dropped");
  });
});

describe('test, deliveries and redeliver with a scoped grant', () => {
  async function withDeliveries() {
    const setup = pipelineDeps();
    const mine = makeWebhook({ modelName: 'fraud-a' });
    const theirs = makeWebhook({ modelName: 'ads' });
    for (const webhook of [mine, theirs]) {
      await setup.webhooks.insert(webhook);
      setup.sender.answer(webhook.id, { kind: 'response', status: 400, body: 'no' });
    }
    for (const model of ['fraud-a', 'ads']) await processEventMessage(setup.deps, { events: [{ event: 'MODEL_VERSION_CREATED', model_name: model, version: '1', event_id: `e-${model}` }] }, { id: `m-${model}`, dequeueCount: 1, insertedAt: 0, text: '{}' });
    const failed = (webhookId: string) => [...setup.deliveries.rows.values()].find((delivery) => delivery.webhookId === webhookId && delivery.status === 'FAILED')?.id ?? '';
    setup.audit.entries.length = 0;
    setup.sender.sent.length = 0;
    return { ...setup, deps: { ...setup.deps, newId: () => 'a'.repeat(32) }, mine, theirs, failed };
  }

  it('in scope: test call, deliveries and redeliver work, audited with the grant', async () => {
    const { deps, mine, failed, audit, sender } = await withDeliveries();
    sender.answer(mine.id, { kind: 'response', status: 200, body: 'ok' });
    assert.equal((await testWebhook(deps, team, { id: mine.id })).status_code, 200);
    assert.equal((await listDeliveries(deps, team, { webhook_id: mine.id })).deliveries?.length, 1);
    const id = failed(mine.id);
    assert.deepEqual((await redeliver(deps, team, { delivery_id: id })).delivery_ids, [id]);
    assert.equal((await redeliver(deps, team, { webhook_id: mine.id, since_timestamp: 0 })).delivery_ids.length, 0, 'already PENDING again');
    assert.deepEqual(audit.entries.map((entry) => `${entry.action} ${entry.principal} ${entry.grant ?? ''}`), [`test ${team.id} ${TEAM_GRANT}`, `redeliver ${team.id} ${TEAM_GRANT}`, `redeliver ${team.id} ${TEAM_GRANT}`]);
  });

  it("out of scope: another team's webhook and deliveries are 403 naming the model, nothing is sent or changed", async () => {
    const { deps, theirs, failed, audit, sender, deliveries, deliveryQueue } = await withDeliveries();
    const before = JSON.stringify([...deliveries.rows.values()]);
    const denied = /for model_name 'ads'/;
    await rejects(testWebhook(deps, team, { id: theirs.id }), 'PERMISSION_DENIED', denied);
    await rejects(listDeliveries(deps, team, { webhook_id: theirs.id }), 'PERMISSION_DENIED', denied);
    await rejects(redeliver(deps, team, { delivery_id: failed(theirs.id) }), 'PERMISSION_DENIED', denied);
    await rejects(redeliver(deps, team, { webhook_id: theirs.id, since_timestamp: 0 }), 'PERMISSION_DENIED', denied);
    await rejects(listDeliveries(deps, team, { webhook_id: 'f'.repeat(32) }), 'RESOURCE_DOES_NOT_EXIST', /does not exist/);
    await rejects(listDeliveries(deps, teamPublisher, { webhook_id: theirs.id }), 'PERMISSION_DENIED', /Role 'publisher'/);
    assert.equal(sender.sent.length, 0);
    assert.equal(audit.entries.length, 0);
    assert.equal(deliveryQueue.messages.filter((message) => JSON.stringify(message.body).includes(theirs.id)).length, 0);
    assert.equal(JSON.stringify([...deliveries.rows.values()]), before);
  });

  it('unscoped: a manager tests, reads and redelivers any model', async () => {
    const { deps, theirs, failed } = await withDeliveries();
    assert.equal((await testWebhook(deps, manager, { id: theirs.id })).status_code, 400);
    assert.equal((await listDeliveries(deps, manager, { webhook_id: theirs.id })).deliveries?.length, 1);
    assert.equal((await redeliver(deps, manager, { delivery_id: failed(theirs.id) })).delivery_ids.length, 1);
  });
});

import assert from 'node:assert/strict';
import { systemClock } from '../../src/shared/ids.js';
import { randomBytes } from 'node:crypto';
import { describe, it, before } from 'node:test';
import { deliveryIdOf, type Delivery } from '../../src/pipeline/delivery.js';
import { TableAuditLog } from '../../src/storage/audit-log.js';
import type { DeliveryStore } from '../../src/pipeline/delivery-store.js';
import { EVENT_CLAIM_LEASE_MS, type EventClaims } from '../../src/pipeline/event-claims.js';
import { TableDeliveryStore } from '../../src/storage/delivery-store.js';
import { TableEventClaims } from '../../src/storage/event-claims.js';
import { REGISTRY_WIDE_SCOPE, scopeKeyOf } from '../../src/storage/key-encoding.js';
import { TABLES } from '../../src/storage/names.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import { TableWebhookStore } from '../../src/storage/table-webhook-store.js';
import { ConcurrentUpdateError, ScopeFullError, type WebhookStore } from '../../src/webhooks/webhook-store.js';
import type { Webhook } from '../../src/webhooks/webhook.js';
import { testAzurite } from '../support/azurite.js';
import { SPECIAL_MODEL_NAMES } from '../support/fixtures.js';
import { recordSecrets } from '../support/artifacts.js';
import { MemoryDeliveryStore, MemoryEventClaims, MemoryWebhookStore } from '../support/memory.js';

const SECRET = 'plaintext-secret-value-0001';
const AUTHORIZATION = 'Bearer plaintext-authorization-0002';
const ACCESS_TOKEN = 'dapi-plaintext-access-token-0003';
recordSecrets([SECRET, AUTHORIZATION, ACCESS_TOKEN]);

let n = 0;
/** A webhook; an override of undefined removes the field, as the stores never return undefined keys. */
const webhook = (overrides: Partial<Webhook> = {}): Webhook => {
  const made: Webhook = {
    id: randomBytes(16).toString('hex'),
    modelName: 'model',
    events: ['MODEL_VERSION_CREATED'],
    status: 'ACTIVE',
    target: { kind: 'http', url: 'https://x.example/hook', enableSslVerification: true, secret: SECRET, authorization: AUTHORIZATION },
    creationTimestamp: 1000 + n++,
    lastUpdatedTimestamp: 2000,
    ...overrides,
  };
  if (made.modelName === undefined) delete made.modelName;
  return made;
};

/** Stores made by one `make` share their rows, as Table adapters share a table. */
type MakeWebhookStore = (options?: { defaultWorkspaceUrl?: string; onUnreadable?: (webhookId: string, reason: string) => void }) => Promise<WebhookStore>;

function webhookStoreContract(name: string, make: MakeWebhookStore, spoil: (webhook: Webhook) => Promise<void>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let store: WebhookStore;
    before(async () => (store = await make()));

    it('skips a row that cannot be read wherever rows are read, reports it, and serves the others', async () => {
      const modelName = `spoiled-${name}`;
      const [good, bad] = [webhook({ modelName }), webhook({ modelName })];
      await store.insert(good);
      await store.insert(bad);
      await spoil(bad);
      const reported: string[] = [];
      const reading = await make({ onUnreadable: (id) => reported.push(id) });
      assert.equal(await reading.get(bad.id), undefined);
      assert.deepEqual((await reading.get(good.id))?.value, good);
      assert.deepEqual((await reading.listScope(modelName, 'ACTIVE')).map((found) => found.id), [good.id]);
      assert.deepEqual((await reading.list({ model: modelName, limit: 10 })).webhooks.map((found) => found.id), [good.id]);
      assert.ok((await reading.list({ limit: 1000 })).webhooks.some((found) => found.id === good.id));
      assert.deepEqual([...new Set(reported)], [bad.id]);
      assert.ok(reported.length >= 4, 'every read reports it');
      await reading.remove(bad);
    });

    it('writes the default workspace URL into a job webhook stored without one, once, on first read', async () => {
      const legacy = webhook({ modelName: `legacy-${name}`, target: { kind: 'job', jobId: '7', accessToken: ACCESS_TOKEN } });
      await store.insert(legacy);
      assert.deepEqual((await store.get(legacy.id))?.value.target, legacy.target, 'no default: left as it is');
      const withDefault = await make({ defaultWorkspaceUrl: 'https://first.example' });
      const read = await withDefault.get(legacy.id);
      assert.deepEqual(read?.value.target, { ...legacy.target, workspaceUrl: 'https://first.example' });
      assert.ok(read);
      await withDefault.replace({ ...read.value, description: 'the etag answered is current' }, read.etag);
      const later = await make({ defaultWorkspaceUrl: 'https://changed.example' });
      assert.deepEqual((await later.listScope(`legacy-${name}`, 'ACTIVE'))[0]?.target, { ...legacy.target, workspaceUrl: 'https://first.example' });
      assert.deepEqual((await store.get(legacy.id))?.value.target, { ...legacy.target, workspaceUrl: 'https://first.example' });
    });

    it('round-trips a webhook of each target kind, secrets included', async () => {
      const http = webhook();
      const job = webhook({ modelName: undefined, target: { kind: 'job', jobId: '1234567890123456789', accessToken: ACCESS_TOKEN, workspaceUrl: 'https://adb.example' } });
      await store.insert(http);
      await store.insert(job);
      assert.deepEqual((await store.get(http.id))?.value, http);
      assert.deepEqual((await store.get(job.id))?.value, job);
      assert.equal(await store.get('0'.repeat(32)), undefined);
    });

    it('stores, finds and lists every special model name', async () => {
      for (const modelName of SPECIAL_MODEL_NAMES) {
        const created = webhook({ modelName, description: `d ${modelName}` });
        await store.insert(created);
        assert.deepEqual((await store.get(created.id))?.value, created, modelName);
        const inScope = await store.listScope(modelName, 'ACTIVE');
        assert.ok(inScope.some((found) => found.id === created.id), modelName);
        const page = await store.list({ model: modelName, limit: 10 });
        assert.ok(page.webhooks.some((found) => found.id === created.id && found.modelName === modelName), modelName);
      }
    });

    it('replaces only at the expected version', async () => {
      const created = webhook();
      await store.insert(created);
      const found = await store.get(created.id);
      assert.ok(found);
      await store.replace({ ...created, description: 'one' }, found.etag);
      await assert.rejects(store.replace({ ...created, description: 'two' }, found.etag), ConcurrentUpdateError);
      assert.equal((await store.get(created.id))?.value.description, 'one');
    });

    it('sets the status without touching other fields, and removes', async () => {
      const created = webhook({ description: 'keep me' });
      await store.insert(created);
      await store.setStatus(created, 'DISABLED', 99);
      const found = (await store.get(created.id))?.value;
      assert.equal(found?.status, 'DISABLED');
      assert.equal(found?.description, 'keep me');
      assert.equal(found?.lastUpdatedTimestamp, 99);
      await store.remove(created);
      assert.equal(await store.get(created.id), undefined);
    });

    it('marks a webhook disabled by the service, lists it with the ACTIVE ones when asked, and a replace without the mark clears it', async () => {
      const scope = `service-${name}-${randomBytes(3).toString('hex')}`;
      const [active, byService, byUser] = [webhook({ modelName: scope }), webhook({ modelName: scope }), webhook({ modelName: scope })];
      for (const made of [active, byService, byUser]) await store.insert(made);
      const stale = await store.get(byService.id);
      assert.ok(stale);
      await store.replace({ ...byService, description: 'edited' }, stale.etag);
      assert.equal(await store.setStatus(byService, 'DISABLED', 50, { serviceDisabled: { timestamp: 50, reason: 'auto_disable' }, etag: stale.etag }), false, 'a stale version is not written');
      const read = await store.get(byService.id);
      assert.ok(read);
      assert.equal(await store.setStatus(byService, 'DISABLED', 50, { serviceDisabled: { timestamp: 50, reason: 'auto_disable' }, etag: read.etag }), true);
      await store.setStatus(byUser, 'DISABLED', 60);
      const marked = await store.get(byService.id);
      assert.deepEqual(marked?.value.serviceDisabled, { timestamp: 50, reason: 'auto_disable' });
      assert.equal((await store.get(byUser.id))?.value.serviceDisabled, undefined);
      const ids = (found: Webhook[]) => found.map((one) => one.id).sort();
      assert.deepEqual(ids(await store.listScope(scope, 'ACTIVE')), [active.id]);
      assert.deepEqual(ids(await store.listScope(scope, 'ACTIVE', {}, { withServiceDisabled: true })), [active.id, byService.id].sort());
      assert.ok(marked);
      const { serviceDisabled: _mark, ...cleared } = marked.value;
      await store.replace({ ...cleared, status: 'ACTIVE' }, marked.etag);
      assert.equal((await store.get(byService.id))?.value.serviceDisabled, undefined);
    });

    it('keeps the start of a run of failures: set and cleared only at the version read, the update time untouched, kept by a replace', async () => {
      const created = webhook({ lastUpdatedTimestamp: 7 });
      await store.insert(created);
      const read = await store.get(created.id);
      assert.ok(read);
      assert.equal(read.value.failingSince, undefined);
      assert.equal(await store.setFailingSince(created, 1_000, read.etag), true);
      assert.equal(await store.setFailingSince(created, 2_000, read.etag), false, 'a second write at the same version is refused');
      const running = await store.get(created.id);
      assert.ok(running);
      assert.deepEqual([running.value.failingSince, running.value.lastUpdatedTimestamp], [1_000, 7]);
      await store.replace({ ...running.value, description: 'edited' }, running.etag);
      const edited = await store.get(created.id);
      assert.ok(edited);
      assert.equal(edited.value.failingSince, 1_000);
      assert.equal(await store.setFailingSince(created, undefined, edited.etag), true);
      assert.equal((await store.get(created.id))?.value.failingSince, undefined);
      assert.equal(await store.setFailingSince(webhook(), 5, edited.etag), false, 'never creates a row');
    });

    it('setting the status of, or removing, a webhook that is gone changes nothing and does not throw', async () => {
      const gone = webhook();
      await store.setStatus(gone, 'DISABLED', 5);
      await store.remove(gone);
      assert.equal(await store.get(gone.id), undefined, 'setStatus never creates a row');
    });

    it('lists a scope a keyset page at a time, in id order', async () => {
      const scope = `paged-${name}-${randomBytes(3).toString('hex')}`;
      const ids: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const created = webhook({ modelName: scope });
        ids.push(created.id);
        await store.insert(created);
      }
      ids.sort();
      const first = await store.listScope(scope, 'ACTIVE', { limit: 2 });
      assert.deepEqual(first.map((found) => found.id), ids.slice(0, 2));
      const rest = await store.listScope(scope, 'ACTIVE', { after: ids[1] ?? '', limit: 10 });
      assert.deepEqual(rest.map((found) => found.id), ids.slice(2));
    });

    it('lists a scope by status, counts it, and pages a filtered listing with keyset tokens', async () => {
      const scope = `scope-${name}`;
      const made: Webhook[] = [];
      for (let index = 0; index < 7; index += 1) {
        const created = webhook({ modelName: scope, events: index % 2 ? ['COMMENT_CREATED'] : ['MODEL_VERSION_CREATED'], status: index === 6 ? 'TEST_MODE' : 'ACTIVE' });
        made.push(created);
        await store.insert(created);
      }
      assert.equal(await store.countScope(scope), 7);
      assert.equal((await store.listScope(scope, 'ACTIVE')).length, 6);
      const seen: string[] = [];
      let pageToken;
      do {
        const page = await store.list({ model: scope, events: ['COMMENT_CREATED'], limit: 2, ...(pageToken ? { pageToken } : {}) });
        seen.push(...page.webhooks.map((found) => found.id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(seen.sort(), made.filter((_, index) => index % 2).map((found) => found.id).sort());
    });

    it('holds the cap of a scope under concurrent inserts, registry-wide too, and a remove frees a place', async () => {
      for (const modelName of [`capped-${name}`, undefined]) {
        const before = await store.countScope(modelName);
        const limit = before + 5;
        const made = Array.from({ length: 20 }, () => webhook({ modelName }));
        // Four stores over the same rows, as four instances would be: they contend for the counter.
        const instances = [store, await make({}), await make({}), await make({})];
        const results = await Promise.allSettled(made.map((each, index) => (instances[index % instances.length] ?? store).insert(each, limit)));
        assert.equal(results.filter((result) => result.status === 'fulfilled').length, 5, String(modelName));
        for (const result of results) if (result.status === 'rejected') assert.ok(result.reason instanceof ScopeFullError, String(result.reason));
        assert.equal(await store.countScope(modelName), limit);
        const stored = made.filter((_, index) => results[index]?.status === 'fulfilled');
        const [first] = stored;
        assert.ok(first);
        await store.remove(first);
        await store.remove(first);
        assert.equal(await store.countScope(modelName), limit - 1, 'a second remove of the same webhook frees nothing more');
        await store.insert(webhook({ modelName }), limit);
        await assert.rejects(store.insert(webhook({ modelName }), limit), ScopeFullError);
      }
    });

    it('filters a listing across scopes by model before paging: every page but the last is full', async () => {
      const prefix = `team-${name}-`;
      const mine: string[] = [];
      for (const [index, modelName] of [`${prefix}a`, `other-${name}-1`, `${prefix}b`, `other-${name}-2`, `other-${name}-3`, `${prefix}c`, undefined].entries()) {
        const created = webhook({ modelName, events: index === 6 ? ['REGISTERED_MODEL_CREATED'] : ['MODEL_VERSION_CREATED'] });
        await store.insert(created);
        if (modelName?.startsWith(prefix)) mine.push(created.id);
      }
      const models = (modelName: string | undefined) => modelName?.startsWith(prefix) === true;
      const seen: string[] = [];
      let pageToken;
      do {
        const page = await store.list({ models, limit: 1, ...(pageToken ? { pageToken } : {}) });
        assert.equal(page.webhooks.length, 1, 'no empty page while another follows');
        seen.push(...page.webhooks.map((found) => found.id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(seen.sort(), mine.sort());
    });

    it('lists across all scopes in key order', async () => {
      const page = await store.list({ limit: 1000 });
      const keys = page.webhooks.map((found) => `${scopeKeyOf(found.modelName)}\u0000${found.id}`);
      assert.deepEqual(keys, [...keys].sort());
      assert.ok(page.webhooks.some((found) => scopeKeyOf(found.modelName) === REGISTRY_WIDE_SCOPE));
    });
  });
}

function deliveryStoreContract(name: string, make: () => Promise<DeliveryStore>): void {
  describe(`DeliveryStore contract: ${name}`, () => {
    const webhookId = randomBytes(16).toString('hex');
    const delivery = (eventTimestamp: number, status: Delivery['status']): Delivery => ({
      id: deliveryIdOf(webhookId, eventTimestamp, 'M', `e${eventTimestamp}`),
      webhookId,
      event: 'MODEL_VERSION_CREATED',
      eventId: `e${eventTimestamp}`,
      eventTimestamp,
      status,
      attempts: 1,
      createdTimestamp: eventTimestamp + 5,
      lastAttemptTimestamp: eventTimestamp + 6,
      payload: '{"event":"MODEL_VERSION_CREATED"}',
    });

    it('creates, gets and lists newest first, by status and since a time, in pages', async () => {
      const store = await make();
      const all = [1000, 2000, 3000, 4000, 5000].map((ts, index) => delivery(ts, index % 2 ? 'FAILED' : 'SUCCEEDED'));
      for (const item of all) assert.equal((await store.create([item]))[0]?.created, true);
      assert.deepEqual((await store.get(all[0]?.id ?? ''))?.value, all[0]);
      assert.equal(await store.get('nonsense'), undefined);
      const first = await store.list({ webhookId, limit: 2 });
      assert.deepEqual(first.deliveries.map((item) => item.eventTimestamp), [5000, 4000]);
      assert.ok(first.nextPageToken);
      const second = await store.list({ webhookId, limit: 10, pageToken: first.nextPageToken });
      assert.deepEqual(second.deliveries.map((item) => item.eventTimestamp), [3000, 2000, 1000]);
      assert.equal(second.nextPageToken, undefined);
      assert.deepEqual((await store.list({ webhookId, status: 'FAILED', limit: 10 })).deliveries.map((item) => item.eventTimestamp), [4000, 2000]);
      assert.deepEqual((await store.list({ webhookId, sinceTimestamp: 3000, limit: 10 })).deliveries.map((item) => item.eventTimestamp), [5000, 4000, 3000]);
    });

    it('creates many records at once across webhooks, past one transaction, and answers the existing ones', async () => {
      const store = await make();
      const other = randomBytes(16).toString('hex');
      const many = Array.from({ length: 230 }, (_, index) => ({ ...delivery(10_000 + index, 'SUCCEEDED') }));
      const elsewhere = { ...delivery(99, 'FAILED'), id: deliveryIdOf(other, 99, 'M', 'x'), webhookId: other };
      const claimed = { ...many[5], claim: { attempt: 1, expiresAt: 123 }, runToken: 'token-1' } as Delivery;
      await store.create([elsewhere, claimed]);
      const results = await store.create([...many, { ...elsewhere, status: 'SUCCEEDED' }]);
      assert.equal((await store.list({ webhookId, sinceTimestamp: 10_000, limit: 1000 })).deliveries.length, 230);
      assert.deepEqual(results.map((result) => result.created).filter((created) => !created).length, 2);
      const existing = results[5];
      assert.ok(existing && !existing.created);
      assert.deepEqual(existing.existing.value, claimed, 'the row already there is answered, claim and token included');
      assert.equal((await store.get(elsewhere.id))?.value.status, 'FAILED', 'create never overwrites');
    });

    it('replaces only at the version read; a stale or missing row is answered undefined and left alone', async () => {
      const store = await make();
      const a = delivery(20_001, 'PENDING');
      const b = delivery(20_002, 'PENDING');
      const [createdA, createdB] = await store.create([a, b]);
      assert.ok(createdA?.created && createdB?.created);
      const [next] = await store.replace([{ value: { ...a, attempts: 2 }, etag: createdA.etag }]);
      assert.ok(next);
      const stale = await store.replace([
        { value: { ...a, attempts: 3 }, etag: createdA.etag },
        { value: { ...b, status: 'SUCCEEDED' }, etag: createdB.etag },
      ]);
      assert.equal(stale[0], undefined, 'the stale write loses');
      assert.ok(stale[1], 'its neighbour in the same partition is still written');
      assert.equal((await store.get(a.id))?.value.attempts, 2);
      assert.equal((await store.get(b.id))?.value.status, 'SUCCEEDED');
      const current = await store.get(a.id);
      const together = await store.replace([
        { value: { ...a, attempts: 4 }, etag: current?.etag ?? '' },
        { value: { ...b, attempts: 4 }, etag: stale[1] ?? '' },
      ]);
      assert.ok(together[0] && together[1], 'one transaction for both');
      const again = await store.replace([
        { value: { ...a, attempts: 5 }, etag: together[0] },
        { value: { ...b, attempts: 5 }, etag: together[1] },
      ]);
      assert.ok(again[0] && again[1], 'the versions a transaction answers are the rows\' versions');
      const gone = delivery(20_003, 'PENDING');
      assert.deepEqual(await store.replace([{ value: gone, etag: next }]), [undefined], 'a missing row is not created');
      assert.equal(await store.get(gone.id), undefined);
    });
  });
}

function eventClaimsContract(name: string, make: () => Promise<EventClaims>): void {
  describe(`EventClaims contract: ${name}`, () => {
    it('lets one copy in, keeps it in, makes others wait, frees a dead copy\'s claim, and drops copies for 24 h after a finish', async () => {
      const claims = await make();
      const id = `evt-${randomBytes(4).toString('hex')}`;
      assert.deepEqual(await claims.claim(id, 'msg-a', 0), { kind: 'mine' });
      assert.deepEqual(await claims.claim(id, 'msg-a', 10), { kind: 'mine' }, 'the same message again');
      assert.deepEqual(await claims.claim(id, 'msg-b', 20), { kind: 'held', until: 10 + EVENT_CLAIM_LEASE_MS }, 'another copy waits');
      assert.deepEqual(await claims.claim(id, 'msg-b', 11 + EVENT_CLAIM_LEASE_MS), { kind: 'mine' }, 'the first copy died: its claim expired');
      await claims.finish(id, 'msg-b', 50 + EVENT_CLAIM_LEASE_MS);
      assert.deepEqual(await claims.claim(id, 'msg-c', 60 + EVENT_CLAIM_LEASE_MS), { kind: 'finished' });
      assert.deepEqual(await claims.claim(id, 'msg-b', 60 + EVENT_CLAIM_LEASE_MS), { kind: 'finished' }, 'even the copy that finished');
      assert.deepEqual(await claims.claim(id, 'msg-d', 50 + EVENT_CLAIM_LEASE_MS + 24 * 3_600_000), { kind: 'mine' }, 'after 24 h');
    });
  });
}

describe('stores on Azurite', async () => {
  const azurite = await testAzurite();
  const box = new SecretBox(randomBytes(32));
  const tableStore = new TableWebhookStore(azurite.clients.table(TABLES.webhooks), azurite.clients.table(TABLES.webhookIds), box);

  const memoryRows: MemoryWebhookStore['rows'] = new Map();
  webhookStoreContract(
    'memory',
    (options) => Promise.resolve(new MemoryWebhookStore(options, memoryRows)),
    (spoiled) => Promise.resolve(new MemoryWebhookStore({}, memoryRows).spoil(spoiled.id)),
  );
  webhookStoreContract(
    'table',
    (options) => Promise.resolve(options ? new TableWebhookStore(azurite.clients.table(TABLES.webhooks), azurite.clients.table(TABLES.webhookIds), box, options) : tableStore),
    async (spoiled) => {
      await azurite.clients.table(TABLES.webhooks).updateEntity({ partitionKey: scopeKeyOf(spoiled.modelName), rowKey: spoiled.id, Events: '["NOT_AN_EVENT"]' }, 'Merge');
    },
  );
  deliveryStoreContract('memory', () => Promise.resolve(new MemoryDeliveryStore()));
  deliveryStoreContract('table', () => Promise.resolve(new TableDeliveryStore(azurite.clients.table(TABLES.deliveries), azurite.clients.table(TABLES.deliveryDays), systemClock)));
  eventClaimsContract('memory', () => Promise.resolve(new MemoryEventClaims()));
  eventClaimsContract('table', () => Promise.resolve(new TableEventClaims(azurite.clients.table(TABLES.eventClaims))));

  it('never stores a secret, authorization or access token in plaintext', async () => {
    await tableStore.insert(webhook());
    await tableStore.insert(webhook({ target: { kind: 'job', jobId: '1', accessToken: ACCESS_TOKEN } }));
    let rows = 0;
    for await (const entity of azurite.clients.table(TABLES.webhooks).listEntities()) {
      rows += 1;
      const raw = JSON.stringify(entity);
      for (const secret of [SECRET, AUTHORIZATION, ACCESS_TOKEN, 'plaintext']) assert.ok(!raw.includes(secret), `row ${entity.rowKey} holds ${secret}`);
    }
    assert.ok(rows >= 2);
  });

  it('re-seals every secret with a new key, and a second run changes nothing', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const tables = [azurite.clients.table(TABLES.webhooks), azurite.clients.table(TABLES.webhookIds)] as const;
    const withOld = new TableWebhookStore(...tables, new SecretBox(oldKey));
    const created = webhook({ modelName: 'rotation' });
    await withOld.insert(created);
    const rotated = new TableWebhookStore(...tables, new SecretBox(newKey, oldKey));
    const first = await rotated.resealSecrets();
    assert.ok(first.resealed >= 1);
    assert.ok(first.unreadable.length > 0, 'rows sealed by other tests with a third key are reported, not fatal');
    assert.ok(!first.unreadable.includes(created.id));
    const second = await rotated.resealSecrets();
    assert.equal(second.resealed, 0);
    assert.deepEqual(second.unreadable, first.unreadable);
    const onlyNew = new TableWebhookStore(...tables, new SecretBox(newKey));
    assert.deepEqual((await onlyNew.get(created.id))?.value, created);
  });

  it('writes audit entries in batches, without secrets', async () => {
    const audit = new TableAuditLog(azurite.clients.table(TABLES.audit));
    const now = Date.UTC(2026, 10, 28, 12);
    const entry = (index: number) => ({
      timestamp: now + index,
      principal: 'p',
      action: 'deliver' as const,
      webhookId: `w${index}`,
      target: { url: 'https://x.example', enable_ssl_verification: true },
    });
    await audit.append(Array.from({ length: 150 }, (_, index) => entry(index)));
    for (let index = 150; index < 160; index += 1) await audit.append([entry(index)]);
    let count = 0;
    const partitions = new Set<string>();
    const ofFirstAppend = new Set<string>();
    for await (const entity of azurite.clients.table(TABLES.audit).listEntities<{ Action: string; Target: string; WebhookId: string }>({ queryOptions: { filter: "PartitionKey ge '20261128' and PartitionKey lt '20261129'" } })) {
      count += 1;
      partitions.add(entity.partitionKey ?? '');
      if (Number(entity.WebhookId.slice(1)) < 150) ofFirstAppend.add(entity.partitionKey ?? '');
      assert.match(entity.partitionKey ?? '', /^20261128_[0-9a-f]$/);
      assert.equal(entity.Action, 'deliver');
      assert.deepEqual(JSON.parse(entity.Target), { url: 'https://x.example', enable_ssl_verification: true });
    }
    assert.equal(count, 160);
    assert.ok(partitions.size > 1, 'a day spreads over several partitions');
    assert.equal(ofFirstAppend.size, 1, 'the entries of one append share a partition, so they go in as transactions');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuardedHttpClient } from '../../src/outbound/http-client.js';
import { TABLES } from '../../src/storage/names.js';
import { TableSnapshotStore } from '../../src/storage/unity-catalog-snapshots.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { noopMetrics } from '../../src/telemetry/metrics.js';
import { UnityCatalogApi } from '../../src/unity-catalog/api-client.js';
import { tokenSourceFor } from '../../src/unity-catalog/credentials.js';
import { pollUnityCatalog, type PollerDeps } from '../../src/unity-catalog/poller.js';
import type { PendingEvent } from '../../src/unity-catalog/model-changes.js';
import { parseModelSelectors, type UnityCatalogCredential } from '../../src/unity-catalog/settings.js';
import { systemResolver } from '../../src/webhooks/target-policy.js';
import { recordSecrets } from '../support/artifacts.js';
import { testAzurite } from '../support/azurite.js';
import { startFakeUnityCatalog, type FakeUnityCatalog } from '../support/fake-unity-catalog.js';
import { ManualClock, MemoryQueue } from '../support/memory.js';

const PAT = 'dapi-fake-personal-access-token-0001';
const CLIENT_SECRET = 'fake-oauth-client-secret-0002';
recordSecrets([PAT, CLIENT_SECRET]);

/** What the queue holds: the source's events, read back without trusting their event name. */
type Published = Omit<PendingEvent, 'event'> & { event: string };

/** Every event put on the queue, in order. */
const publishedOn = (queue: MemoryQueue): Published[] => queue.messages.flatMap((message) => (message.body as { events: Published[] }).events);
/** What a change is, whatever its id: the fields a receiver reads. */
const changeOf = (event: Published): string => [event.event, event.model_name, event.version ?? '', event.alias ?? '', event.previous_version ?? ''].join(' ').trim();
const changesOf = (events: Published[]): string[] => events.map(changeOf).sort();

describe('Unity Catalog poller against a fake workspace, snapshots on Azurite', async () => {
  const azurite = await testAzurite();
  const table = azurite.clients.table(TABLES.unityCatalog);

  const setup = async (options: { models?: string; budget?: number; emitBaseline?: boolean; credential?: UnityCatalogCredential; oauthClients?: Record<string, string> } = {}) => {
    const fake = await startFakeUnityCatalog(options.oauthClients);
    fake.personalTokens.add(PAT);
    fake.createSchema('main', 'ml');
    const queue = new MemoryQueue();
    const clock = new ManualClock(Date.now());
    const client = new GuardedHttpClient({ policy: { allowHttp: true, allowPrivate: true }, resolve: systemResolver, timeoutMs: 5000, maxResponseBytes: 16 * 1024 * 1024, connectionsPerOrigin: 4, now: clock.read });
    const settings = {
      workspaceUrl: fake.url,
      models: parseModelSelectors(options.models ?? 'main.ml.*'),
      credential: options.credential ?? { kind: 'token' as const, token: PAT },
      requestBudget: options.budget ?? 500,
      emitBaseline: options.emitBaseline ?? false,
    };
    const store = new TableSnapshotStore(table, fake.url);
    const tokens = tokenSourceFor(settings.credential, { client, workspaceUrl: fake.url, clock: clock.read, identity: () => assert.fail('no managed identity here') });
    const deps = (extra: Partial<PollerDeps> = {}): PollerDeps => ({
      settings,
      api: () => new UnityCatalogApi(client, fake.url, tokens, settings.requestBudget),
      store,
      publish: { eventQueue: queue, clock: clock.read },
      clock: clock.read,
      log: silentLogger,
      metrics: noopMetrics,
      ...extra,
    });
    const poll = (extra: Partial<PollerDeps> = {}) => pollUnityCatalog(deps(extra));
    return { fake, queue, clock, store, deps, poll };
  };

  const seed = (fake: FakeUnityCatalog) => {
    fake.createModel('main.ml.fraud');
    fake.setStatus('main.ml.fraud', fake.createVersion('main.ml.fraud'), 'READY');
    fake.setAlias('main.ml.fraud', 'champion', 1);
  };

  it('records a baseline, then publishes each change once, and nothing more on later polls', async () => {
    const { fake, queue, poll } = await setup();
    seed(fake);
    assert.equal((await poll()).outcome, 'pass-completed');
    assert.deepEqual(publishedOn(queue), [], 'the first poll is a baseline');

    fake.createVersion('main.ml.fraud');
    fake.setAlias('main.ml.fraud', 'challenger', 1);
    await poll();
    assert.deepEqual(changesOf(publishedOn(queue)), ['MODEL_VERSION_ALIAS_CREATED main.ml.fraud 1 challenger'], 'a PENDING_REGISTRATION version is not announced yet');

    fake.setStatus('main.ml.fraud', 2, 'READY');
    fake.setAlias('main.ml.fraud', 'champion', 2);
    fake.deleteAlias('main.ml.fraud', 'challenger');
    fake.createModel('main.ml.churn');
    fake.setStatus('main.ml.churn', fake.createVersion('main.ml.churn'), 'READY');
    await poll();
    for (let extra = 0; extra < 3; extra += 1) await poll();
    assert.deepEqual(changesOf(publishedOn(queue)), [
      'MODEL_VERSION_ALIAS_CREATED main.ml.fraud 1 challenger',
      'MODEL_VERSION_ALIAS_CREATED main.ml.fraud 2 champion 1',
      'MODEL_VERSION_ALIAS_DELETED main.ml.fraud 1 challenger',
      'MODEL_VERSION_CREATED main.ml.churn 1',
      'MODEL_VERSION_CREATED main.ml.fraud 2',
      'REGISTERED_MODEL_CREATED main.ml.churn',
    ]);
    const ids = publishedOn(queue).map((event) => event.event_id);
    assert.equal(new Set(ids).size, ids.length);
    const modelReads = fake.apiRequests().filter((request) => /^\/api\/2\.1\/unity-catalog\/models\/[^/]+$/.test(request.path));
    assert.ok(modelReads.length > 0 && modelReads.every((request) => request.query.include_aliases === 'true'), 'aliases are read with include_aliases=true');
  });

  it('emits the baseline when asked to', async () => {
    const { fake, queue, poll } = await setup({ emitBaseline: true });
    seed(fake);
    await poll();
    assert.deepEqual(changesOf(publishedOn(queue)), ['MODEL_VERSION_ALIAS_CREATED main.ml.fraud 1 champion', 'MODEL_VERSION_CREATED main.ml.fraud 1', 'REGISTERED_MODEL_CREATED main.ml.fraud']);
  });

  it('a model found with more changes than a snapshot holds publishes them over several passes, each once', async () => {
    const { fake, queue, poll, store } = await setup({ emitBaseline: true });
    fake.pageSizes = { models: 100, versions: 1000 };
    fake.createModel('main.ml.big');
    for (let version = 1; version <= 7000; version += 1) fake.createVersion('main.ml.big', 'READY');
    fake.setAlias('main.ml.big', 'champion', 7000);
    for (let pass = 0; pass < 40; pass += 1) await poll();
    const published = publishedOn(queue);
    assert.equal(published.length, 7002, 'the model, 7,000 versions and the alias: more than one table row could hold at once');
    assert.equal(new Set(published.map(changeOf)).size, 7002);
    assert.equal(new Set(published.map((event) => event.event_id)).size, 7002);
    assert.deepEqual((await store.read('main.ml.big'))?.state.aliases, { champion: 7000 });
  });

  it('reads every page until next_page_token is absent, empty pages included', async () => {
    const { fake, queue, poll } = await setup();
    fake.pageSizes = { models: 2, versions: 2 };
    fake.emptyPages = true;
    const names = ['a', 'b', 'c', 'd', 'e'].map((name) => `main.ml.${name}`);
    for (const name of names) {
      fake.createModel(name);
      for (let version = 1; version <= 3; version += 1) fake.setStatus(name, fake.createVersion(name), 'READY');
    }
    await poll();
    fake.setStatus('main.ml.a', fake.createVersion('main.ml.a'), 'READY');
    fake.setAlias('main.ml.e', 'champion', 3);
    fake.createModel('main.ml.f');
    await poll();
    assert.deepEqual(changesOf(publishedOn(queue)), ['MODEL_VERSION_ALIAS_CREATED main.ml.e 3 champion', 'MODEL_VERSION_CREATED main.ml.a 4', 'REGISTERED_MODEL_CREATED main.ml.f']);
    const listings = fake.apiRequests().filter((request) => request.path === '/api/2.1/unity-catalog/models');
    assert.ok(listings.some((request) => request.query.page_token !== undefined), 'paged');
    assert.equal(listings.at(-1)?.query.catalog_name, 'main');
  });

  it('backs off on 429 and 5xx, keeps its place, and loses nothing', async () => {
    const { fake, queue, clock, store, poll } = await setup();
    seed(fake);
    await poll();
    fake.setAlias('main.ml.fraud', 'champion', fake.createVersion('main.ml.fraud', 'READY'));
    fake.failNext(1, 429, 'REQUEST_LIMIT_EXCEEDED', 'Too many requests', { 'retry-after': '20' });
    assert.equal((await poll()).outcome, 'backing-off');
    const state = await store.readRunState();
    assert.equal(state.problems[0]?.kind, 'throttled');
    assert.ok((state.notBefore ?? 0) >= clock.now + 20_000, 'Retry-After is honoured');
    const requests = fake.apiRequests().length;
    assert.deepEqual(await poll(), { outcome: 'backing-off', requests: 0, published: 0 }, 'no call while backing off');
    assert.equal(fake.apiRequests().length, requests);
    clock.advance(21_000);
    fake.failNext(1, 503, 'TEMPORARILY_UNAVAILABLE', 'The service is temporarily unavailable');
    assert.equal((await poll()).outcome, 'backing-off');
    clock.advance(60_000);
    assert.equal((await poll()).outcome, 'pass-completed');
    assert.deepEqual(changesOf(publishedOn(queue)), ['MODEL_VERSION_ALIAS_CREATED main.ml.fraud 2 champion 1', 'MODEL_VERSION_CREATED main.ml.fraud 2']);
    assert.deepEqual((await store.readRunState()).problems, [], 'a clean pass clears the problem');
  });

  it('a run that spends its request budget resumes where it stopped, and the pass completes', async () => {
    const { fake, queue, poll, store } = await setup({ budget: 10 });
    for (const name of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']) fake.createModel(`main.ml.${name}`);
    const outcomes: string[] = [];
    for (let run = 0; run < 3; run += 1) outcomes.push((await poll()).outcome);
    // A run lists (1 request) and reads 4 models (2 each); the 5th model's read spends the budget.
    assert.deepEqual(outcomes, ['budget-spent', 'pass-completed', 'budget-spent']);
    for (const name of ['m1', 'm8']) fake.setStatus(`main.ml.${name}`, fake.createVersion(`main.ml.${name}`), 'READY');
    assert.equal((await poll()).outcome, 'pass-completed', 'the third run stopped after m4: this one resumes at m5');
    assert.deepEqual(changesOf(publishedOn(queue)), ['MODEL_VERSION_CREATED main.ml.m8 1']);
    await poll();
    await poll();
    assert.deepEqual(changesOf(publishedOn(queue)), ['MODEL_VERSION_CREATED main.ml.m1 1', 'MODEL_VERSION_CREATED main.ml.m8 1']);
    assert.equal((await store.readRunState()).passes, 3);
  });

  it('two pollers at once publish each change once', async () => {
    const { fake, queue, poll } = await setup();
    seed(fake);
    await poll();
    for (let round = 0; round < 4; round += 1) {
      fake.setStatus('main.ml.fraud', fake.createVersion('main.ml.fraud'), 'READY');
      fake.setAlias('main.ml.fraud', 'champion', round + 2);
      fake.createModel(`main.ml.new${round}`);
      await Promise.all([poll(), poll()]);
    }
    const published = publishedOn(queue);
    const idsByChange = new Map<string, Set<string>>();
    for (const event of published) idsByChange.set(changeOf(event), (idsByChange.get(changeOf(event)) ?? new Set()).add(event.event_id));
    assert.equal(idsByChange.size, 12, [...idsByChange.keys()].join('\n'));
    for (const [change, ids] of idsByChange) assert.equal(ids.size, 1, `${change} is published under one event_id, so a copy is a duplicate the fan-out drops`);
  });

  it('a crash between publishing and the snapshot write, or before publishing, loses and doubles nothing', async () => {
    const { fake, queue, poll, store } = await setup();
    seed(fake);
    await poll();
    fake.setAlias('main.ml.fraud', 'champion', fake.createVersion('main.ml.fraud', 'READY'));
    await assert.rejects(poll({ afterPublish: () => Promise.reject(new Error('process died')) }), /process died/);
    const first = publishedOn(queue);
    assert.equal(first.length, 2);
    assert.equal((await store.read('main.ml.fraud'))?.outbox.length, 2, 'the outbox still holds what was published');
    await poll();
    await poll();
    const again = publishedOn(queue).slice(2);
    assert.deepEqual(again, first, 'republished with the same ids and times, which the fan-out de-duplicates');
    assert.equal((await store.read('main.ml.fraud'))?.outbox.length, 0);

    fake.deleteAlias('main.ml.fraud', 'champion');
    const failing = new MemoryQueue();
    failing.send = () => Promise.reject(new Error('queue unreachable'));
    await assert.rejects(poll({ publish: { eventQueue: failing, clock: Date.now } }), /queue unreachable/);
    assert.equal(publishedOn(queue).length, 4, 'nothing reached the queue');
    await poll();
    assert.deepEqual(changesOf(publishedOn(queue).slice(4)), ['MODEL_VERSION_ALIAS_DELETED main.ml.fraud 2 champion'], 'the outbox written before the crash is published by the next run');
    await poll();
    assert.equal(publishedOn(queue).length, 5);
  });

  it('reports a missing catalog, a denied schema and bad credentials, and goes on with the rest', async () => {
    const { fake, queue, poll, store } = await setup({ models: 'main.ml.*,nocat.ml.*,main.secret.*,main.ml.absent' });
    fake.createSchema('main', 'secret');
    fake.denied.add('main.secret');
    seed(fake);
    await poll();
    fake.createModel('main.ml.late');
    assert.equal((await poll()).outcome, 'pass-completed');
    assert.deepEqual(changesOf(publishedOn(queue)), ['REGISTERED_MODEL_CREATED main.ml.late']);
    const problems = (await store.readRunState()).problems.map((problem) => `${problem.kind} ${problem.scope}`).sort();
    assert.deepEqual(problems, ['denied main.secret.*', 'missing main.ml.absent', 'missing nocat.ml.*']);
    assert.match((await store.readRunState()).problems.find((problem) => problem.scope === 'nocat.ml.*')?.message ?? '', /CATALOG_DOES_NOT_EXIST/);

    fake.personalTokens.delete(PAT);
    assert.equal((await poll()).outcome, 'failed');
    const denied = (await store.readRunState()).problems.find((problem) => problem.scope === 'credentials');
    assert.equal(denied?.kind, 'denied');
    assert.ok(!JSON.stringify(await store.readRunState()).includes(PAT));
  });

  it('OAuth M2M: client credentials at /oidc/v1/token, the token reused across runs; a wrong secret is reported without it', async () => {
    const { fake, poll } = await setup({ credential: { kind: 'oauth', clientId: 'sp-client', clientSecret: CLIENT_SECRET }, oauthClients: { 'sp-client': CLIENT_SECRET } });
    seed(fake);
    for (let run = 0; run < 3; run += 1) assert.equal((await poll()).outcome, 'pass-completed');
    assert.equal(fake.tokenRequests, 1);
    const tokenCall = fake.requests.find((request) => request.path === '/oidc/v1/token');
    assert.equal(tokenCall?.authorization, `Basic ${Buffer.from(`sp-client:${CLIENT_SECRET}`).toString('base64')}`);
    assert.ok(fake.apiRequests().every((request) => request.authorization.startsWith('Bearer fake-oauth-')));

    const wrong = await setup({ credential: { kind: 'oauth', clientId: 'sp-client', clientSecret: 'not-the-secret-0003' }, oauthClients: { 'sp-client': CLIENT_SECRET } });
    assert.equal((await wrong.poll()).outcome, 'failed');
    const problem = (await wrong.store.readRunState()).problems[0];
    assert.equal(problem?.scope, 'credentials');
    assert.match(problem?.message ?? '', /invalid_client/);
    assert.ok(!problem?.message.includes('not-the-secret'));
  });
});

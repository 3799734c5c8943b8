import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNREADABLE_QUIET_MS, UnreadableWebhooks } from '../../src/storage/unreadable-webhooks.js';
import { ManualClock, MemoryWebhookStore } from '../support/memory.js';
import { makeWebhook } from '../support/pipeline.js';

describe('reporting webhooks that cannot be read', () => {
  it('logs and counts each unreadable webhook a store meets, at most once a minute, and lists them from a scan reused for a minute', async () => {
    const clock = new ManualClock();
    const logged: string[] = [];
    let counted = 0;
    let scans = 0;
    const rows: MemoryWebhookStore['rows'] = new Map();
    const unreadable = new UnreadableWebhooks({
      findUnreadable: () => {
        scans += 1;
        return new MemoryWebhookStore({}, rows).findUnreadable();
      },
      metrics: { webhookUnreadable: () => (counted += 1) },
      log: (message) => logged.push(message),
      clock: clock.read,
    });
    const store = new MemoryWebhookStore({ onUnreadable: unreadable.report }, rows);
    const [good, bad] = [makeWebhook({ modelName: 'm' }), makeWebhook({ modelName: 'm' })];
    await store.insert(good);
    await store.insert(bad);
    store.spoil(bad.id);
    assert.deepEqual((await store.listScope('m', 'ACTIVE')).map((found) => found.id), [good.id]);
    await store.get(bad.id);
    assert.equal(counted, 1);
    assert.equal(logged.length, 1);
    assert.match(logged[0] ?? '', new RegExp(`webhook ${bad.id} cannot be read`));
    clock.advance(UNREADABLE_QUIET_MS);
    await store.get(bad.id);
    assert.equal(counted, 2, 'reported again after a minute');
    assert.deepEqual(await unreadable.ids(), [bad.id]);
    assert.deepEqual(await unreadable.ids(), [bad.id]);
    assert.equal(scans, 1, 'the scan is reused');
    clock.advance(UNREADABLE_QUIET_MS);
    await unreadable.ids();
    assert.equal(scans, 2);
  });
});

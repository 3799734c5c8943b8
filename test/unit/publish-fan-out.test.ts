import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { InlineFanOut, PUBLISH_HOLD_MS, publishEvents, type PublishDeps } from '../../src/pipeline/publish-events.js';
import { publisher } from '../support/deps.js';
import { ManualClock, MemoryQueue } from '../support/memory.js';

const created = (version: string) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'inline', version });

describe('publish fans its events out itself, the held queue message as the backstop', () => {
  type FanOut = ConstructorParameters<typeof InlineFanOut>[0];
  const setup = (fanOut: FanOut | undefined, limit = 2) => {
    const eventQueue = new MemoryQueue();
    return { eventQueue, deps: { eventQueue, clock: new ManualClock().read, ...(fanOut ? { fanOutNow: new InlineFanOut(fanOut, limit) } : {}) } satisfies PublishDeps };
  };

  it('hands the message to the fan-out as its trigger would (id, insertion time, text) and removes it once done', async () => {
    const seen: { body: unknown; meta: { id: string; dequeueCount: number; text: string } }[] = [];
    const { deps, eventQueue } = setup((body, meta) => {
      seen.push({ body, meta });
      assert.equal(eventQueue.messages[0]?.delayMs, PUBLISH_HOLD_MS, 'held while it is fanned out');
      return Promise.resolve();
    });
    const { event_ids: ids } = await publishEvents(deps, publisher, { events: [created('1'), created('2')] });
    assert.equal(seen.length, 1);
    assert.equal(ids[0], `${seen[0]?.meta.id ?? ''}:0`, 'event ids derive from the held message, as the trigger derives them');
    assert.deepEqual((seen[0]?.body as { events: unknown[] }).events.length, 2);
    assert.equal(seen[0]?.meta.text, JSON.stringify(seen[0]?.body));
    assert.equal(seen[0]?.meta.dequeueCount, 1);
    assert.equal(eventQueue.messages.length, 0, 'removed: the trigger has nothing left to do');
  });

  it('leaves the held message for the trigger when its own fan-out fails', async () => {
    const { deps, eventQueue } = setup(() => Promise.reject(new Error('storage down')));
    const { event_ids: ids } = await publishEvents(deps, publisher, created('1'));
    assert.equal(ids.length, 1);
    assert.equal(eventQueue.messages.length, 1);
    assert.equal(eventQueue.messages[0]?.delayMs, PUBLISH_HOLD_MS);
  });

  it('answers without waiting out a slow fan-out; the message stays held until it finishes', async () => {
    let finish: () => void = () => undefined;
    const { deps, eventQueue } = setup(() => new Promise<void>((resolve) => (finish = resolve)));
    await publishEvents(deps, publisher, created('1'));
    assert.equal(eventQueue.messages.length, 1, 'still held: the fan-out has not finished');
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(eventQueue.messages.length, 0);
  });

  it('leaves to the trigger what comes while its own fan-outs are all busy, and takes work again once one finished', async () => {
    const finishers: (() => void)[] = [];
    const { deps, eventQueue } = setup(() => new Promise<void>((resolve) => finishers.push(resolve)), 1);
    await publishEvents(deps, publisher, created('1'));
    await publishEvents(deps, publisher, created('2'));
    assert.deepEqual(eventQueue.messages.map((message) => message.delayMs), [PUBLISH_HOLD_MS, 0], 'the second went plainly to the queue');
    assert.equal(finishers.length, 1);
    finishers[0]?.();
    await new Promise((resolve) => setImmediate(resolve));
    void publishEvents(deps, publisher, created('3'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(finishers.length, 2, 'the slot was free again');
    finishers[1]?.();
  });

  it('renews the hold while its own fan-out runs, as the host renews a lease, so the trigger does not take it meanwhile', async () => {
    mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    try {
      let finish: () => void = () => undefined;
      const { deps, eventQueue } = setup(() => new Promise<void>((resolve) => (finish = resolve)));
      const publishing = publishEvents(deps, publisher, created('1'));
      await new Promise((resolve) => setImmediate(resolve));
      const held = eventQueue.messages[0];
      assert.ok(held);
      held.delayMs = 0;
      mock.timers.tick(PUBLISH_HOLD_MS / 2);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(held.delayMs, PUBLISH_HOLD_MS, 'extended for another hold');
      finish();
      mock.timers.tick(1000);
      await publishing;
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(eventQueue.messages.length, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('without a fan-out of its own, enqueues for the trigger as before', async () => {
    const { deps, eventQueue } = setup(undefined);
    await publishEvents(deps, publisher, created('1'));
    assert.equal(eventQueue.messages[0]?.delayMs, 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InvocationContext } from '@azure/functions';
import functionsLibrary from '@azure/functions';
import { QUEUE_CONNECTION } from '../../src/functions/function-table.js';
import type { QueueHostSettings } from '../../src/local/host-json.js';
import { readHostJson } from '../../src/local/host-json.js';
import { POISON_TTL_SECONDS, QueueListener, type QueueListenerOptions } from '../../src/local/queue-host.js';
import { PollingBackoff } from '../../src/local/queue-polling.js';
import { installWorkerCore } from '../../src/local/worker-core.js';
import { StorageMessageQueue } from '../../src/storage/message-queue.js';
import { testAzurite } from '../support/azurite.js';
import { waitFor } from '../support/runtime-process.js';

const settings: QueueHostSettings = { batchSize: 4, newBatchThreshold: 2, maxPollingIntervalMs: 500, visibilityTimeoutMs: 0, maxDequeueCount: 3, messageEncoding: 'base64' };
const quiet = () => undefined;

describe('local queue trigger, as the Functions host runs it', async () => {
  const azurite = await testAzurite();
  // Handlers register through @azure/functions, as src/app.ts does, and are invoked through its conversions.
  const core = installWorkerCore();
  let queueIndex = 0;

  async function listen(
    handler: (message: unknown, context: InvocationContext) => Promise<void>,
    overrides: Partial<QueueHostSettings> = {},
    host: QueueListenerOptions & { log?: (level: string, fn: string, text: string) => void } = {},
  ) {
    const name = `host-queue-${queueIndex++}`;
    const queue = azurite.clients.queue(name);
    const poison = azurite.clients.queue(`${name}-poison`);
    await queue.createIfNotExists();
    functionsLibrary.app.storageQueue(`fn-${name}`, { queueName: name, connection: QUEUE_CONNECTION, handler });
    const fn = core.functions.find((candidate) => candidate.name === `fn-${name}`);
    assert.ok(fn);
    const listener = new QueueListener(fn, name, queue, poison, { ...settings, ...overrides }, host.log ?? quiet, { leaseMs: 4000, ...host });
    return { name, queue, poison, listener };
  }

  const poisonTexts = async (poison: ReturnType<typeof azurite.clients.queue>) => {
    if (!(await poison.exists())) return [];
    const peeked = await poison.peekMessages({ numberOfMessages: 32 });
    return peeked.peekedMessageItems.map((message) => message.messageText);
  };

  it('reads base64 settings and short polling from host.json', () => {
    const host = readHostJson(new URL('../../host.json', import.meta.url).pathname);
    assert.equal(host.routePrefix, '', 'each route carries /api itself (function-table.ts)');
    assert.equal(host.queues.messageEncoding, 'base64');
    assert.ok(host.queues.maxPollingIntervalMs <= 5000, 'a delayed retry is picked up promptly');
    assert.ok(host.queues.maxDequeueCount * host.queues.visibilityTimeoutMs >= 5 * 60_000, 'storage may be out for minutes before a message is poisoned');
  });

  it('hands JSON messages over as objects, text as strings, with trigger metadata as @azure/functions makes it, and deletes them on success', async () => {
    const seen: { message: unknown; metadata: Record<string, unknown> | undefined }[] = [];
    const { queue, listener } = await listen((message, context) => {
      seen.push({ message, metadata: context.triggerMetadata });
      return Promise.resolve();
    });
    listener.start();
    await queue.sendMessage(Buffer.from('{"event":"X","n":1}').toString('base64'));
    await queue.sendMessage(Buffer.from('plain text').toString('base64'));
    await waitFor('both messages', () => (seen.length === 2 ? true : undefined));
    await listener.stop();
    const object = seen.find((entry) => typeof entry.message === 'object');
    assert.deepEqual(object?.message, { event: 'X', n: 1 });
    assert.equal(object?.metadata?.dequeueCount, 1);
    // fromRpcTriggerMetadata: keys camelCased, values JSON-parsed, so queueTrigger is the parsed message.
    assert.deepEqual(object?.metadata?.queueTrigger, { event: 'X', n: 1 });
    assert.match(String(object?.metadata?.id), /\w/);
    assert.ok(!Number.isNaN(Date.parse(String(object?.metadata?.insertionTime))));
    assert.ok(seen.some((entry) => entry.message === 'plain text'));
    assert.equal((await queue.peekMessages()).peekedMessageItems.length, 0);
  });

  it('hands any JSON value over parsed (42, "x", null), as the library does with the host\'s string', async () => {
    const seen: unknown[] = [];
    const { queue, listener } = await listen((message) => {
      seen.push(message);
      return Promise.resolve();
    });
    listener.start();
    for (const text of ['42', '"x"', 'null', 'true', '[1,2]']) await queue.sendMessage(Buffer.from(text).toString('base64'));
    await waitFor('five messages', () => (seen.length === 5 ? true : undefined));
    await listener.stop();
    assert.deepEqual(
      seen.map((value) => JSON.stringify(value)).sort(),
      ['"x"', '42', '[1,2]', 'null', 'true'].sort(),
    );
  });

  it("merges a JSON message's top-level keys into the metadata over the host's own (id, dequeueCount), camelCased", async () => {
    const seen: (Record<string, unknown> | undefined)[] = [];
    const { queue, listener } = await listen((_message, context) => {
      seen.push(context.triggerMetadata);
      return Promise.resolve();
    });
    listener.start();
    await queue.sendMessage(Buffer.from('{"id":"forged","DequeueCount":99,"Model_Name":{"Inner_Key":1}}').toString('base64'));
    await waitFor('the message', () => (seen.length === 1 ? true : undefined));
    await listener.stop();
    assert.equal(seen[0]?.id, 'forged');
    assert.equal(seen[0]?.dequeueCount, 99);
    assert.deepEqual(seen[0]?.model_Name, { inner_Key: 1 });
  });

  it('renews a short lease under a slow handler and completes with the current pop receipt, even as a renewal is answering', async () => {
    const runs: number[] = [];
    const warnings: string[] = [];
    const { queue, listener } = await listen(
      async () => {
        runs.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 1100));
      },
      {},
      { leaseMs: 2000, log: (level, _fn, text) => warnings.push(`${level} ${text}`) },
    );
    const update = queue.updateMessage.bind(queue);
    // The storage service answers renewals slowly: the new receipt is in force before the caller knows it.
    queue.updateMessage = (async (...args: Parameters<typeof update>) => {
      const answer = await update(...args);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return answer;
    });
    listener.start();
    await queue.sendMessage(Buffer.from('{"slow":true}').toString('base64'));
    await waitFor('the run', () => (runs.length === 1 ? true : undefined));
    await waitFor('the message completed', async () => ((await queue.peekMessages()).peekedMessageItems.length === 0 && warnings.length === 0 ? true : undefined), 5000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await listener.stop();
    assert.deepEqual(warnings, [], 'completion never meets a stale pop receipt');
    assert.equal(runs.length, 1, 'the message ran once');
    assert.equal((await queue.peekMessages()).peekedMessageItems.length, 0);
  });

  it('retries a failing message with a rising dequeueCount, then moves it to <queue>-poison as it was', async () => {
    const counts: number[] = [];
    const { queue, poison, listener } = await listen((_message, context) => {
      counts.push(Number(context.triggerMetadata?.dequeueCount));
      return Promise.reject(new Error('always fails'));
    });
    listener.start();
    const original = Buffer.from('{"fail":true}').toString('base64');
    await queue.sendMessage(original);
    await waitFor('the poison queue', async () => ((await poisonTexts(poison)).length === 1 ? true : undefined));
    await listener.stop();
    assert.deepEqual(counts, [1, 2, 3]);
    assert.deepEqual(await poisonTexts(poison), [original]);
    assert.equal((await queue.peekMessages()).peekedMessageItems.length, 0);
    const [copy] = (await poison.peekMessages()).peekedMessageItems;
    const ttlSeconds = ((copy?.expiresOn.getTime() ?? 0) - (copy?.insertedOn.getTime() ?? 0)) / 1000;
    assert.equal(Math.round(ttlSeconds / 60), POISON_TTL_SECONDS / 60, 'poison copies expire after the host\'s 7 days');
  });

  it('poisons a message that is not base64 at once, without running the function', async () => {
    let calls = 0;
    const { queue, poison, listener } = await listen(() => {
      calls += 1;
      return Promise.resolve();
    });
    listener.start();
    await queue.sendMessage('{"raw": "json, not base64"}');
    await waitFor('the poison queue', async () => ((await poisonTexts(poison)).length === 1 ? true : undefined));
    await listener.stop();
    assert.equal(calls, 0);
    assert.deepEqual(await poisonTexts(poison), ['{"raw": "json, not base64"}']);
  });

  it('poisons a message already dequeued more than maxDequeueCount times (crashed runs) without running it', async () => {
    let calls = 0;
    const { queue, poison, listener } = await listen(() => {
      calls += 1;
      return Promise.resolve();
    });
    await queue.sendMessage(Buffer.from('"crashy"').toString('base64'));
    for (let index = 0; index < 3; index += 1) await queue.receiveMessages({ visibilityTimeout: 1 }).then(() => new Promise((resolve) => setTimeout(resolve, 1100)));
    listener.start();
    await waitFor('the poison queue', async () => ((await poisonTexts(poison)).length === 1 ? true : undefined));
    await listener.stop();
    assert.equal(calls, 0);
  });

  /** A listener whose waits between polls last until the test releases them. */
  async function heldListener(wakeOnEnqueue: boolean) {
    const seen: unknown[] = [];
    const waits: (() => void)[] = [];
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        waits.push(resolve);
        signal.addEventListener('abort', () => resolve());
      });
    const listening = await listen(
      (message) => {
        seen.push(message);
        return Promise.resolve();
      },
      { maxPollingIntervalMs: 60_000 },
      { wakeOnEnqueue, sleep },
    );
    listening.listener.start();
    await waitFor('the first empty poll', () => (waits.length === 1 ? true : undefined));
    await new StorageMessageQueue(azurite.clients.queue(listening.name)).send({ sent: 'by the app' });
    return { ...listening, seen, waits };
  }

  it('is not woken when the app enqueues with the Storage SDK: the message waits for the next poll, as under the host', async () => {
    const { listener, queue, seen, waits } = await heldListener(false);
    const woken = await waitFor('a wake-up', () => (seen.length > 0 ? true : undefined), 1500).then(
      () => true,
      () => false,
    );
    assert.equal(woken, false, 'handled before the listener finished its wait');
    assert.equal(waits.length, 1, 'no poll after the enqueue');
    assert.equal((await queue.peekMessages()).peekedMessageItems.length, 1, 'still waiting on the queue');
    waits[0]?.();
    await waitFor('the message, at the next poll', () => (seen.length === 1 ? true : undefined));
    await listener.stop();
    assert.deepEqual(seen, [{ sent: 'by the app' }]);
  });

  it('with wakeOnEnqueue (npm start --wake-on-enqueue) wakes at once instead', async () => {
    const { listener, seen, waits } = await heldListener(true);
    await waitFor('the message, before the wait ends', () => (seen.length === 1 ? true : undefined), 5000);
    assert.equal(waits.length >= 1, true);
    await listener.stop();
    assert.deepEqual(seen, [{ sent: 'by the app' }]);
  });

  it('backs off as the host does: 100 ms, then 100 ms plus 100 ms × 2^(n-1) (±20%), up to maxPollingInterval; messages reset it', () => {
    const middle = new PollingBackoff(2000, () => 0.5);
    const empties = () => Array.from({ length: 8 }, () => Math.round(middle.nextEmptyDelay()));
    assert.deepEqual(empties(), [100, 200, 300, 500, 900, 1700, 2000, 2000]);
    middle.found();
    assert.equal(middle.nextEmptyDelay(), 200);
    const low = new PollingBackoff(60_000, () => 0);
    low.found();
    assert.equal(Math.round(low.nextEmptyDelay()), 180);
    const high = new PollingBackoff(60_000, () => 1);
    high.found();
    assert.equal(Math.round(high.nextEmptyDelay()), 220);
  });

  it('takes host.json settings from AzureFunctionsJobHost__ app settings, names ignoring case, as the host does', () => {
    const path = new URL('../../host.json', import.meta.url).pathname;
    const host = readHostJson(path, { AzureFunctionsJobHost__Extensions__Queues__MaxPollingInterval: '00:00:00.25', azurefunctionsjobhost__extensions__queues__batchSize: '4' });
    assert.equal(host.queues.maxPollingIntervalMs, 250);
    assert.equal(host.queues.batchSize, 4);
    assert.equal(readHostJson(path, {}).queues.maxPollingIntervalMs, 2000);
    assert.equal(readHostJson(path, { AzureFunctionsJobHost__extensions__queues__maxPollingInterval: '00:00:00.01' }).queues.maxPollingIntervalMs, 100, 'the host\'s minimum');
  });

  it('runs a batch concurrently, up to batchSize plus newBatchThreshold', async () => {
    let running = 0;
    let peak = 0;
    const { queue, listener } = await listen(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 300));
      running -= 1;
    });
    for (let index = 0; index < 12; index += 1) await queue.sendMessage(Buffer.from(`"m${index}"`).toString('base64'));
    let done = 0;
    const counter = setInterval(() => undefined, 1000);
    listener.start();
    await waitFor('all messages', async () => {
      done = (await queue.getProperties()).approximateMessagesCount ?? 0;
      return done === 0 && running === 0 ? true : undefined;
    });
    clearInterval(counter);
    await listener.stop();
    assert.ok(peak > 1, `ran concurrently (peak ${peak})`);
    assert.ok(peak <= settings.batchSize + settings.newBatchThreshold, `peak ${peak}`);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_QUEUE_DELAY_MS, StorageMessageQueue } from '../../src/storage/message-queue.js';
import { testAzurite } from '../support/azurite.js';

describe('storage message queue on Azurite', async () => {
  const azurite = await testAzurite();

  it('sends a message put off past the queue limit of 7 days (a jittered 7-day retry, a far rate slot) at the limit, rather than failing', async () => {
    const client = azurite.clients.queue('delay-cap-test');
    await client.createIfNotExists();
    const queue = new StorageMessageQueue(client);
    const sent = await queue.send({ delivery_id: 'd', attempt: 2, schedule_index: 1 }, MAX_QUEUE_DELAY_MS * 1.2);
    assert.ok(sent);
    const peeked = await client.getProperties();
    assert.equal(peeked.approximateMessagesCount, 1);
    assert.equal((await client.peekMessages()).peekedMessageItems.length, 0, 'the message is still invisible');
  });
});

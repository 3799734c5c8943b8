import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

describe('the per-model cap across runtime processes', async () => {
  const azurite = await testAzurite();

  it('holds the per-model cap when three processes create webhooks for one model at once', async () => {
    const env = testEnv(azurite.connectionString);
    const runtimes = await Promise.all([startRuntime(env), startRuntime(env), startRuntime(env)]);
    const model = 'many-capped';
    let next = 0;
    const answers: number[] = [];
    const creator = async (lane: number) => {
      while (next < 106) {
        next += 1;
        const runtime = runtimes[(next + lane) % runtimes.length];
        if (!runtime) return;
        for (;;) {
          const answer = await runtime.api('POST', `${API}/create`, { body: { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: 'https://example.com/hook' } } });
          if (answer.status === 503) continue;
          answers.push(answer.status);
          break;
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(creator));
    const listed = await runtimes[0]?.api('GET', `${API}/list?model_name=${model}&max_results=1000`);
    assert.equal((listed?.json.webhooks as unknown[] | undefined)?.length, 100);
    assert.equal(answers.filter((status) => status === 200).length, 100);
    assert.equal(answers.filter((status) => status === 400).length, 6);
  });
});

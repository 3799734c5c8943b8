import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

describe('target rules and limits with production settings', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_ALLOW_HTTP_TARGETS: 'false', WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false' }));
  const create = (url: string, extra: Record<string, unknown> = {}) => runtime.api('POST', `${API}/create`, { body: { model_name: 'ssrf', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url }, ...extra } });

  it('refuses http:// and every non-public address, literal or by name, for URLs and workspaces', async () => {
    const refused = [
      'http://example.com/hook',
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.0.0.1/',
      'https://172.16.5.4/',
      'https://192.168.1.10/',
      'https://100.64.0.1/',
      'https://169.254.169.254/latest/meta-data/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://[64:ff9b::a00:1]/',
      'https://[2002:7f00:1::]/',
      'https://0x7f.1/',
      'https://2130706433/',
      'https://127.1/',
      'https://0177.0.0.1/',
      'https://224.0.0.1/',
      'https://255.255.255.255/',
      'https://198.18.0.1/',
    ];
    for (const url of refused) {
      const response = await create(url);
      assert.equal(response.status, 400, `${url}: ${response.text}`);
      assert.match(String(response.json.message), /http_url_spec\.url/);
    }
    const byName = await create('https://localhost/hook');
    assert.match(String(byName.json.message), /localhost resolves to an address that is not public/);
    assert.doesNotMatch(String(byName.json.message), /127\.0\.0\.1|::1|loopback/, 'what a name resolved to is never told');
    const job = await runtime.api('POST', `${API}/create`, { body: { model_name: 'ssrf', events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '1', access_token: 'dapi-x', workspace_url: 'https://169.254.169.254' } } });
    assert.equal(job.status, 400);
    assert.match(String(job.json.message), /job_spec\.workspace_url.*link-local/);
    assert.equal((await create('https://[2606:4700:4700::1111]/hook')).status, 200, 'a public address is fine');
  });

  it('holds the cap of 100 webhooks per model under 130 concurrent creates, and a delete frees a place', async () => {
    const answers = await Promise.all(Array.from({ length: 130 }, () => create('https://203.0.112.1/hook', { model_name: 'raced' })));
    const statuses = answers.map((answer) => answer.status);
    assert.equal(statuses.filter((status) => status === 200).length, 100, JSON.stringify(answers.filter((answer) => answer.status !== 200 && answer.status !== 400).map((answer) => answer.text)));
    assert.equal(statuses.filter((status) => status === 400).length, 30);
    for (const answer of answers.filter((each) => each.status === 400)) assert.match(String(answer.json.message), /at most 100 webhooks for model_name 'raced'/);
    const listed = await runtime.api('GET', `${API}/list?model_name=raced&max_results=1000`);
    const ids = (listed.json.webhooks as { id: string }[]).map((hook) => hook.id);
    assert.equal(ids.length, 100, 'stored exactly as many as were answered 200');
    assert.equal((await runtime.api('DELETE', `${API}/delete`, { body: { id: ids[0] } })).status, 200);
    const again = await Promise.all(Array.from({ length: 5 }, () => create('https://203.0.112.1/hook', { model_name: 'raced' })));
    assert.deepEqual(again.map((answer) => answer.status).sort(), [200, 400, 400, 400, 400]);
  });

  it('caps the webhooks of one model at 100', async () => {
    for (let index = 0; index < 100; index += 1) assert.equal((await create('https://203.0.112.1/hook', { model_name: 'capped' })).status, 200);
    const over = await create('https://203.0.112.1/hook', { model_name: 'capped' });
    assert.equal(over.status, 400);
    assert.match(String(over.json.message), /at most 100 webhooks for model_name 'capped'/);
  });
});

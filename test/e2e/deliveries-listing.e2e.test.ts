import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, versionCreated, waitForDeliveries, type ApiDelivery } from '../support/api-helpers.js';
import { answer, startReceiver } from '../support/receiver.js';
import { API, MANAGER_TOKEN, PUBLISHER_TOKEN, startRuntime, testEnv, type ApiResponse } from '../support/runtime-process.js';

/** Listing deliveries without `webhook_id`: every webhook's, deleted ones' included, for admins only. */
describe('Delivery listing across webhooks end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  const list = (query: string, token?: string): Promise<ApiResponse> => runtime.api('GET', `${API}/deliveries${query ? `?${query}` : ''}`, token ? { token } : {});
  const pageThrough = async (query: string): Promise<{ ids: string[]; pages: number }> => {
    const ids: string[] = [];
    let token: string | undefined;
    for (let pages = 1; ; pages += 1) {
      assert.ok(pages < 10);
      const response = await list([query, token ? `page_token=${token}` : ''].filter(Boolean).join('&'));
      assert.equal(response.status, 200, response.text);
      const body = response.json as { deliveries?: ApiDelivery[]; next_page_token?: string };
      ids.push(...(body.deliveries ?? []).map((delivery) => delivery.id));
      token = body.next_page_token;
      if (!token) return { ids, pages };
    }
  };
  const assertBadParameter = (response: ApiResponse, field: RegExp, what: string): void => {
    assert.equal(response.status, 400, `${what}: ${response.text}`);
    assert.equal(response.json.error_code, 'INVALID_PARAMETER_VALUE', what);
    assert.match(String(response.json.message), field, what);
  };

  it('lists every webhook’s deliveries newest first for an admin, a deleted webhook’s too, by status and in pages; refuses a manager and bad parameters', async () => {
    const ok = await startReceiver();
    const refusing = await startReceiver({ behaviour: answer(400, 'no') });
    const a = await createHook(runtime, { model_name: 'across-a', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: ok.url } });
    const b = await createHook(runtime, { model_name: 'across-b', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: refusing.url } });
    const c = await createHook(runtime, { model_name: 'across-c', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: ok.url } });
    const t = Date.now() - 60_000;
    await publish(runtime, [
      versionCreated('across-a', { version: '1', event_timestamp: t + 1 }),
      versionCreated('across-b', { version: '2', event_timestamp: t + 2 }),
      versionCreated('across-c', { version: '3', event_timestamp: t + 3 }),
      versionCreated('across-b', { version: '4', event_timestamp: t + 4 }),
      versionCreated('across-a', { version: '5', event_timestamp: t + 5 }),
    ]);
    const settled = (count: number, status: string) => (found: ApiDelivery[]) => found.length === count && found.every((delivery) => delivery.status === status);
    const [a5, a1] = await waitForDeliveries(runtime, a, settled(2, 'SUCCEEDED'));
    const [b4, b2] = await waitForDeliveries(runtime, b, settled(2, 'FAILED'));
    const [c3] = await waitForDeliveries(runtime, c, settled(1, 'SUCCEEDED'));
    assert.equal((await runtime.api('DELETE', `${API}/delete`, { body: { id: c } })).status, 200);
    const newestFirst = [a5, b4, c3, b2, a1].map((delivery) => delivery?.id);

    const all = await pageThrough('max_results=2');
    assert.deepEqual(all.ids, newestFirst, 'every webhook, the deleted one too, newest event first');
    assert.equal(all.pages, 3, 'full pages of two, then the last');
    const first = await list('');
    assert.deepEqual((first.json.deliveries as ApiDelivery[]).map((delivery) => delivery.webhook_id), [a, b, c, b, a]);
    assert.deepEqual((await pageThrough('status=FAILED&max_results=1')).ids, [b4?.id, b2?.id], 'by status, from the status index');
    assert.deepEqual((await pageThrough('status=SUCCEEDED')).ids, [a5?.id, c3?.id, a1?.id]);
    assert.equal((await list('status=SKIPPED')).text, '{}', 'nothing skipped: an empty answer');

    const manager = await list('', MANAGER_TOKEN);
    assertBadParameter(manager, /'webhook_id'.*admins/, 'a manager must name a webhook');
    assert.equal((await list(`webhook_id=${a}`, MANAGER_TOKEN)).status, 200, 'and may list the one it names');
    assert.equal((await list('', PUBLISHER_TOKEN)).status, 403);

    assertBadParameter(await list('status=NOPE'), /'status'/, 'an unknown status');
    assertBadParameter(await list('max_results=0'), /'max_results'/, 'max_results 0');
    assertBadParameter(await list('max_results=ten'), /'max_results'/, 'max_results not a number');
    assertBadParameter(await list('page_token=%21%21'), /'page_token'/, 'a token that is not one');
    const forged = Buffer.from(JSON.stringify({ p: a, r: 'garbage', q: '*' })).toString('base64url');
    assertBadParameter(await list(`page_token=${forged}`), /'page_token'/, 'a token naming no position');
    assertBadParameter(await list('sort=asc'), /'sort'/, 'an unknown parameter');

    const tokenOf = async (query: string): Promise<string> => String((await list(query)).json.next_page_token);
    const failedToken = await tokenOf('status=FAILED&max_results=1');
    assertBadParameter(await list(`page_token=${failedToken}`), /'page_token'.*another listing/, 'a FAILED listing’s token on the plain listing');
    assertBadParameter(await list(`webhook_id=${b}&status=FAILED&page_token=${failedToken}`), /'page_token'.*another listing/, 'a cross-webhook token on one webhook');
    const oneWebhookToken = await tokenOf(`webhook_id=${a}&max_results=1`);
    assertBadParameter(await list(`page_token=${oneWebhookToken}`), /'page_token'.*another listing/, "one webhook's token across webhooks");
    assertBadParameter(await list(`webhook_id=${a}&status=SUCCEEDED&page_token=${oneWebhookToken}`), /'page_token'.*another listing/, 'another status');
    assert.equal((await list(`webhook_id=${a}&page_token=${oneWebhookToken}`)).status, 200, 'its own listing takes it');
  });
});

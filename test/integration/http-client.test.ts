import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuardedHttpClient, type HttpClientOptions } from '../../src/outbound/http-client.js';
import type { AttemptResult } from '../../src/outbound/classify-outcome.js';
import { assertResolvesToAllowed, systemResolver, type Resolver } from '../../src/webhooks/target-policy.js';
import { answer, hang, resetConnection, startReceiver } from '../support/receiver.js';
import { fakeResolver } from '../support/deps.js';

const client = (overrides: Partial<HttpClientOptions> = {}) =>
  new GuardedHttpClient({
    policy: { allowHttp: true, allowPrivate: true },
    resolve: systemResolver,
    timeoutMs: 1500,
    maxResponseBytes: 1024 * 1024,
    connectionsPerOrigin: 8,
    now: Date.now,
    ...overrides,
  });

const post = (url: string, verifyTls = true) => ({ url, method: 'POST' as const, headers: { 'content-type': 'application/json', 'webhook-id': 'd1' }, body: '{"a":1}', verifyTls });

describe('outbound HTTP client', () => {
  it('posts the body and headers and answers status and body', async () => {
    const receiver = await startReceiver({ behaviour: answer(201, 'created') });
    const result = await client().send(post(receiver.url));
    assert.deepEqual(result, { kind: 'response', status: 201, body: 'created' });
    assert.equal(receiver.requests[0]?.body, '{"a":1}');
    assert.equal(receiver.requests[0]?.headers['webhook-id'], 'd1');
  });

  it('verifies TLS unless told not to (self-signed certificates)', async () => {
    const receiver = await startReceiver({ tls: true });
    const verified = await client().send(post(receiver.url, true));
    assert.equal(verified.kind, 'error');
    assert.match(verified.kind === 'error' ? verified.error : '', /certificate|self.signed/i);
    assert.equal(verified.kind === 'error' && verified.retryable, true);
    assert.deepEqual(await client().send(post(receiver.url, false)), { kind: 'response', status: 200, body: 'OK' });
  });

  it('gives up at the deadline on a receiver that hangs, and reports a reset connection', async () => {
    const hanging = await startReceiver({ behaviour: hang });
    assert.deepEqual(await client({ timeoutMs: 500 }).send(post(hanging.url)), { kind: 'error', error: 'timed out after 500 ms', retryable: true, network: 'timeout' });
    const resetting = await startReceiver({ behaviour: resetConnection });
    const reset = await client().send(post(resetting.url));
    assert.equal(reset.kind === 'error' && reset.retryable, true);
    assert.match(reset.kind === 'error' ? reset.error : '', /network error/);
  });

  it('never tells what a host name resolved to when the connection fails', async () => {
    const closed = await startReceiver();
    const port = new URL(closed.url).port;
    await closed.close();
    const named = await client({ resolve: fakeResolver({ 'internal.example': ['127.0.0.1'] }) }).send(post(`http://internal.example:${port}/hook`));
    assert.equal(named.kind, 'error');
    assert.match(named.kind === 'error' ? named.error : '', /network error: ECONNREFUSED/);
    assert.doesNotMatch(named.kind === 'error' ? named.error : '', /127\.0\.0\.1/);
    const literal = await client().send(post(`http://127.0.0.1:${port}/hook`));
    assert.match(literal.kind === 'error' ? literal.error : '', /ECONNREFUSED/);
  });

  it('names how the network failed before any HTTP answer (refused, reset, unreachable, timeout), and no answer of any status as a failure', async () => {
    const networkOf = (result: AttemptResult) => (result.kind === 'error' ? (result.network ?? 'none') : 'answered');
    const closed = await startReceiver();
    const port = new URL(closed.url).port;
    await closed.close();
    assert.equal(networkOf(await client().send(post(`http://127.0.0.1:${port}/hook`))), 'refused');
    assert.equal(networkOf(await client({ resolve: fakeResolver({}) }).send(post(`http://nowhere.example:${port}/hook`))), 'unreachable', 'DNS');
    const resetting = await startReceiver({ behaviour: resetConnection });
    assert.equal(networkOf(await client().send(post(resetting.url))), 'reset', 'closed after the request, before any answer');
    const full = await startReceiver({ acceptAtMost: 0 });
    assert.equal(networkOf(await client().send(post(full.url))), 'reset', 'reset as soon as accepted');
    const tls = await startReceiver({ tls: true });
    assert.equal(networkOf(await client().send(post(tls.url, true))), 'unreachable', 'TLS');
    const hanging = await startReceiver({ behaviour: hang });
    assert.equal(networkOf(await client({ timeoutMs: 300 }).send(post(hanging.url))), 'timeout');
    const failing = await startReceiver({ behaviour: answer(500, 'down') });
    assert.deepEqual(await client().send(post(failing.url)), { kind: 'response', status: 500, body: 'down' });
    const blocked = await client({ policy: { allowHttp: true, allowPrivate: false } }).send(post(failing.url));
    assert.equal(networkOf(blocked), 'none', 'blocked before connecting: not the network');
    assert.match(blocked.kind === 'error' ? blocked.error : '', /^blocked: /);
  });

  it('never follows redirects', async () => {
    const target = await startReceiver();
    const redirecting = await startReceiver({ behaviour: answer(302, '', { location: target.url }) });
    const result = await client().send(post(redirecting.url));
    assert.equal(result.kind === 'response' && result.status, 302);
    assert.equal(target.requests.length, 0);
  });

  it('reads at most the cap of a response body, and passes Retry-After on', async () => {
    const big = await startReceiver({ behaviour: answer(200, 'x'.repeat(3 * 1024 * 1024)) });
    const result = await client({ maxResponseBytes: 1000 }).send(post(big.url));
    assert.equal(result.kind === 'response' && result.body.length, 1000);
    const busy = await startReceiver({ behaviour: answer(429, 'slow down', { 'retry-after': '7' }) });
    const limited = await client().send(post(busy.url));
    assert.equal(limited.kind === 'response' && limited.retryAfterMs, 7000);
  });

  it('opens at most connectionsPerOrigin sockets to one endpoint', async () => {
    const receiver = await startReceiver({ behaviour: hang });
    const limited = client({ connectionsPerOrigin: 3, timeoutMs: 800 });
    await Promise.all(Array.from({ length: 12 }, () => limited.send(post(receiver.url))));
    assert.equal(receiver.peakConnections, 3, `${receiver.peakConnections} sockets open at once`);
  });

  describe('target policy at connect time', () => {
    const strict = (resolve: Resolver) => client({ policy: { allowHttp: true, allowPrivate: false }, resolve });

    it('refuses loopback and private addresses, literal or resolved, before connecting', async () => {
      const receiver = await startReceiver();
      const port = new URL(receiver.url).port;
      const resolver = fakeResolver({ 'evil.test': ['127.0.0.1'], 'mixed.test': ['93.184.216.34', '127.0.0.1'] });
      for (const url of [receiver.url, `http://evil.test:${port}/hook`, `http://mixed.test:${port}/hook`, `http://[::1]:${port}/`, `http://0x7f.1:${port}/`, `http://2130706433:${port}/`]) {
        const result = await strict(resolver).send(post(url));
        assert.equal(result.kind, 'error', url);
        assert.match(result.kind === 'error' ? result.error : '', /^blocked: /, url);
        assert.equal(result.kind === 'error' && result.retryable, false, url);
      }
      assert.equal(receiver.connections, 0, 'no connection was ever opened');
    });

    it('checks the address connected to, so DNS rebinding does not get through', async () => {
      const receiver = await startReceiver();
      const port = new URL(receiver.url).port;
      let lookups = 0;
      const rebinding: Resolver = () => Promise.resolve(lookups++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']);
      const url = new URL(`http://rebind.test:${port}/hook`);
      await assertResolvesToAllowed(url, 'http_url_spec.url', { allowHttp: true, allowPrivate: false }, rebinding);
      const result = await strict(rebinding).send(post(url.href));
      assert.match(result.kind === 'error' ? result.error : '', /^blocked: rebind\.test resolves to an address that is not public(?!.*127\.0\.0\.1)/);
      assert.equal(receiver.connections, 0);
    });
  });
});

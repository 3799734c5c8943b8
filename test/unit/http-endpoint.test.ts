import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { endpoint } from '../../src/functions/http-endpoint.js';
import { HttpRequest, InvocationContext } from '../../src/local/functions-lib.js';
import { buildServices } from '../../src/composition/services.js';

const config = loadConfig({
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  WEBHOOKS_SECRET_KEY: randomBytes(32).toString('base64'),
  WEBHOOKS_AUTH_TOKENS: 'admin:admin-token-0123456789',
});
const services = buildServices(config);
const logged: string[] = [];
const context = () => new InvocationContext({ invocationId: 'inv-1', functionName: 'f', logHandler: (_level, ...args) => logged.push(args.join(' ')) });
const request = (token?: string) => new HttpRequest({ method: 'POST', url: 'http://localhost/api/x', headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('the endpoint wrapper (handlers in test mode, no host)', () => {
  it('answers an unexpected error as INTERNAL_ERROR without a stack trace, and logs it', async () => {
    const handler = endpoint(() => Promise.resolve(services), () => Promise.reject(new Error('boom at /work/main/src/secret-path.ts:12')));
    const response = await handler(request('admin-token-0123456789'), context());
    assert.ok(!('arrayBuffer' in response));
    assert.equal(response.status, 500);
    assert.deepEqual(response.jsonBody, { error_code: 'INTERNAL_ERROR', message: 'An internal error occurred (invocation inv-1)' });
    assert.ok(logged.some((line) => line.includes('boom')));
  });

  it('answers unreachable storage as TEMPORARILY_UNAVAILABLE with Retry-After', async () => {
    const handler = endpoint(() => Promise.resolve(services), () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:10002'), { code: 'ECONNREFUSED' })));
    const response = await handler(request('admin-token-0123456789'), context());
    assert.equal(response.status, 503);
    assert.deepEqual((response as { headers: Record<string, string> }).headers, { 'Retry-After': '5' });
  });

  it('answers storage throttling, server errors, timeouts and EMFILE as TEMPORARILY_UNAVAILABLE, logged without a stack', async () => {
    const troubles = [
      Object.assign(new Error('Operations per second is over the account limit.'), { name: 'RestError', statusCode: 503, code: 'ServerBusy' }),
      Object.assign(new Error('Server failed to authenticate the request.'), { name: 'RestError', statusCode: 500, code: 'InternalError' }),
      Object.assign(new Error('The operation timed out.'), { name: 'RestError', statusCode: 500, code: 'OperationTimedOut' }),
      Object.assign(new Error('connect EMFILE 127.0.0.1:10002 - Local (undefined:undefined)'), { name: 'RestError', code: 'EMFILE' }),
      Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }),
    ];
    for (const trouble of troubles) {
      logged.length = 0;
      const handler = endpoint(() => Promise.resolve(services), () => Promise.reject(trouble));
      const response = await handler(request('admin-token-0123456789'), context());
      assert.equal(response.status, 503, trouble.message);
      assert.equal(((response as { jsonBody?: { error_code?: string } }).jsonBody)?.error_code, 'TEMPORARILY_UNAVAILABLE');
      assert.deepEqual((response as { headers: Record<string, string> }).headers, { 'Retry-After': '5' });
      assert.ok(logged.every((line) => !line.includes('    at ') && !line.startsWith('unexpected error')), `no stack logged as a defect: ${logged.join('|')}`);
    }
  });

  it('checks credentials before running anything', async () => {
    let ran = false;
    const handler = endpoint(() => Promise.resolve(services), () => {
      ran = true;
      return Promise.resolve({ body: {} });
    });
    const response = await handler(request(), context());
    assert.equal(response.status, 401);
    assert.equal(ran, false);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HttpResponseInit } from '@azure/functions';
import { loadConfig } from '../../src/config/config.js';
import { consoleCsp, consoleHandler } from '../../src/functions/console.js';
import { HttpRequest, InvocationContext } from '../../src/local/functions-lib.js';
import type { Services } from '../../src/composition/services.js';
import { ConfigError } from '../../src/shared/errors.js';

const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: randomBytes(32).toString('base64') };
const entra = {
  ...base,
  WEBHOOKS_AUTH_OIDC_ISSUER: 'https://login.microsoftonline.com/0b7a0f2e-1111-2222-3333-444455556666/v2.0',
  WEBHOOKS_AUTH_OIDC_AUDIENCE: 'api://registry-webhooks',
  WEBHOOKS_CONSOLE_CLIENT_ID: '6d3c1a52-aaaa-bbbb-cccc-ddddeeeeffff',
};

function built(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rw-console-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="console/console.js"></script>');
  writeFileSync(join(dir, 'console.js'), 'console.log(1)');
  return dir;
}

async function get(env: Record<string, string>, path: string, options: { dir?: string; headers?: Record<string, string> } = {}): Promise<HttpResponseInit & { headers: Record<string, string> }> {
  const handler = consoleHandler(() => Promise.resolve({ config: loadConfig(env) } as Services), options.dir ?? built());
  const url = new URL(`http://localhost/api/console${path}`);
  const request = new HttpRequest({ method: 'GET', url: url.href, headers: options.headers ?? {}, params: path === '' ? {} : { asset: decodeURIComponent(path.replace(/^\//, '')) } });
  return (await handler(request, new InvocationContext())) as HttpResponseInit & { headers: Record<string, string> };
}

describe('the console function (public page, assets and sign-in configuration)', () => {
  it("serves the page with CSP default-src 'self' and no sign-in when Entra ID is not configured", async () => {
    const page = await get(base, '');
    assert.equal(page.status, 200);
    assert.equal(page.headers['Content-Type'], 'text/html; charset=utf-8');
    assert.match(page.headers['Content-Security-Policy'] ?? '', /^default-src 'self'; base-uri 'none'/);
    assert.deepEqual((await get(base, '/config.json')).jsonBody, { sign_in: null });
  });

  it('adds the configured authority to connect-src and frame-src, and nothing else, and serves the MSAL settings', async () => {
    const page = await get(entra, '');
    const origin = 'https://login.microsoftonline.com';
    assert.equal(consoleCsp(loadConfig(entra).consoleSignIn), page.headers['Content-Security-Policy']);
    assert.match(page.headers['Content-Security-Policy'] ?? '', new RegExp(`^default-src 'self'; connect-src 'self' ${origin}; frame-src 'self' ${origin}; `));
    assert.deepEqual((await get(entra, '/config.json')).jsonBody, {
      sign_in: { client_id: entra.WEBHOOKS_CONSOLE_CLIENT_ID, authority: entra.WEBHOOKS_AUTH_OIDC_ISSUER, scopes: ['api://registry-webhooks/.default'] },
    });
  });

  it('refuses a console client id without OIDC, or with an issuer MSAL cannot use', () => {
    assert.throws(() => loadConfig({ ...base, WEBHOOKS_CONSOLE_CLIENT_ID: 'x' }), /WEBHOOKS_CONSOLE_CLIENT_ID needs WEBHOOKS_AUTH_OIDC_ISSUER/);
    assert.throws(() => loadConfig({ ...entra, WEBHOOKS_AUTH_OIDC_ISSUER: 'http://issuer.example' }), /must be an https:\/\/ URL/);
  });

  it('serves built assets with an ETag, and answers 304 to a matching If-None-Match', async () => {
    const dir = built();
    const script = await get(base, '/console.js', { dir });
    assert.equal(script.status, 200);
    assert.equal(script.headers['Content-Type'], 'text/javascript; charset=utf-8');
    const etag = script.headers.ETag ?? '';
    assert.equal((await get(base, '/console.js', { dir, headers: { 'if-none-match': etag } })).status, 304);
  });

  it('answers unknown or path-escaping assets 404 in the error format, and an unbuilt console 503 saying how to build it', async () => {
    for (const path of ['/nope.js', '/..%2Fpackage.json', '/a/b.js', '/console.ts']) {
      const response = await get(base, path);
      assert.equal(response.status, 404, path);
      assert.equal((response.jsonBody as { error_code: string }).error_code, 'ENDPOINT_NOT_FOUND');
    }
    const unbuilt = await get(base, '', { dir: mkdtempSync(join(tmpdir(), 'rw-console-empty-')) });
    assert.equal(unbuilt.status, 503);
    assert.match((unbuilt.jsonBody as { message: string }).message, /npm run build/);
  });

  it('redirects /api/console/ to /api/console, where the relative asset URLs resolve', async () => {
    const handler = consoleHandler(() => Promise.resolve({ config: loadConfig(base) } as Services), built());
    const response = (await handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/console/', params: {} }), new InvocationContext())) as HttpResponseInit & { headers: Record<string, string> };
    assert.equal(response.status, 308);
    assert.equal(response.headers.Location, '/api/console');
  });

  it('sends the CSP and nosniff on every answer: 404s, an unbuilt console, a settings error, 304s', async () => {
    const dir = built();
    const etag = (await get(base, '/console.js', { dir })).headers.ETag ?? '';
    const answers: [string, HttpResponseInit & { headers: Record<string, string> }][] = [
      ['unknown asset', await get(base, '/nope.js')],
      ['escaping asset', await get(base, '/..%2Fpackage.json')],
      ['unbuilt', await get(base, '', { dir: mkdtempSync(join(tmpdir(), 'rw-console-empty-')) })],
      ['304', await get(base, '/console.js', { dir, headers: { 'if-none-match': etag } })],
    ];
    const broken = consoleHandler(() => Promise.reject(new ConfigError('is missing', 'WEBHOOKS_SECRET_KEY')), built());
    answers.push(['settings error', (await broken(new HttpRequest({ method: 'GET', url: 'http://localhost/api/console', params: {} }), new InvocationContext())) as HttpResponseInit & { headers: Record<string, string> }]);
    for (const [what, answer] of answers) {
      assert.match(answer.headers['Content-Security-Policy'] ?? '', /^default-src 'self'/, what);
      assert.equal(answer.headers['X-Content-Type-Options'], 'nosniff', what);
    }
    const settings = answers.at(-1)?.[1];
    assert.equal(settings?.status, 503);
    assert.match((settings?.jsonBody as { message: string }).message, /WEBHOOKS_SECRET_KEY/);
  });

  it('redirects /api/console/index.html to the page, where its relative asset URLs resolve', async () => {
    const handler = consoleHandler(() => Promise.resolve({ config: loadConfig(base) } as Services), built());
    const response = (await handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/console/index.html', params: { asset: 'index.html' } }), new InvocationContext())) as HttpResponseInit & { headers: Record<string, string> };
    assert.equal(response.status, 308);
    assert.equal(response.headers.Location, '/api/console');
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { createHook } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { screenshotDir, startBrowser, trustingCertificate } from '../support/browser.js';
import { startIssuer } from '../support/oidc-issuer.js';
import { startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';
import { TEST_CERT, TEST_KEY } from '../support/tls-cert.js';

const AUDIENCE = 'api://registry-webhooks-console-e2e';
const CLIENT_ID = '3f1c2a9e-console-spa-client';
const MANAGER = { sub: 'entra-manager', oid: 'oid-entra-manager', name: 'Entra Manager', preferred_username: 'manager@contoso.example', roles: ['Webhooks.Manage'] };

const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * The console's Entra ID sign-in (MSAL, authorization code with PKCE) in chromium, against the test OIDC
 * issuer over HTTPS (MSAL refuses http authorities) standing in for Entra ID, which is not reachable here.
 * The runtime trusts the issuer's certificate through NODE_EXTRA_CA_CERTS (for its JWKS); chromium trusts
 * that certificate's key only. The tests run in order on one page.
 */
describe('console Entra ID sign-in (MSAL against a local HTTPS OIDC issuer, chromium)', async () => {
  const azurite = await testAzurite();
  const issuer = await startIssuer(AUDIENCE, { tls: { key: TEST_KEY, cert: TEST_CERT }, tenantId: '5b1f0c3e-7a2d-4e8f-9c61-0d2b4a6e8f10' });
  const caDir = mkdtempSync(join(tmpdir(), 'rw-issuer-ca-'));
  after(() => rmSync(caDir, { recursive: true, force: true }));
  const caFile = join(caDir, 'issuer.pem');
  writeFileSync(caFile, `${TEST_CERT}\n`);
  const runtime = await startRuntime(
    testEnv(azurite.connectionString, {
      WEBHOOKS_AUTH_OIDC_ISSUER: issuer.issuer,
      WEBHOOKS_AUTH_OIDC_AUDIENCE: AUDIENCE,
      WEBHOOKS_CONSOLE_CLIENT_ID: CLIENT_ID,
      NODE_EXTRA_CA_CERTS: caFile,
    }),
  );
  const consoleUrl = `${runtime.baseUrl}/api/console`;
  issuer.registerClient(CLIENT_ID, [consoleUrl]);
  issuer.signInAs(MANAGER);
  const receiver = await startReceiver();
  const modelHook = await createHook(runtime, { model_name: 'entra-model', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
  await createHook(runtime, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: receiver.url } });

  const shots = screenshotDir('console-entra');
  const browser = await startBrowser({ args: [trustingCertificate(TEST_CERT)], screenshots: shots });
  after(() => console.log(`Entra sign-in screenshots in ${shots}`));
  const { page } = browser;
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  /** The bearer tokens the page sent to the API, and the API's answers. */
  const apiCalls: { token: string; status: number }[] = [];
  page.on('response', (response) => {
    const authorization = response.request().headers().authorization;
    if (response.url().startsWith(`${runtime.baseUrl}${API}/`) && authorization) apiCalls.push({ token: authorization.replace(/^Bearer /, ''), status: response.status() });
  });
  const addresses: string[] = [];
  page.on('request', (request) => addresses.push(request.url()));
  const stored = () => page.evaluate<{ session: string[]; local: number }>('({ session: Object.values(sessionStorage), local: localStorage.length })');
  const entraButton = page.getByRole('button', { name: 'Sign in with Microsoft Entra ID' });
  const rows = page.locator('table[aria-label="Webhooks"] tbody tr');
  /** Sign-in lands on the overview (or where the page was); the webhook list is one click away. */
  const toWebhookList = async () => {
    await page.locator('main h1').first().waitFor();
    if ((await page.locator('main h1').first().innerText()) === 'Overview') await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
  };
  const origin = new URL(issuer.issuer).origin;

  it('serves the sign-in configuration, and a CSP naming the authority in connect-src and frame-src and nowhere else', async () => {
    const config = await fetch(`${consoleUrl}/config.json`);
    assert.deepEqual(await config.json(), { sign_in: { client_id: CLIENT_ID, authority: issuer.issuer, scopes: [`${AUDIENCE}/.default`] } });
    const response = await fetch(consoleUrl);
    assert.equal(response.status, 200);
    const directives = Object.fromEntries(
      (response.headers.get('content-security-policy') ?? '').split(';').map((directive) => {
        const [name = '', ...sources] = directive.trim().split(/\s+/);
        return [name, sources];
      }),
    );
    assert.deepEqual(directives, {
      'default-src': ["'self'"],
      'connect-src': ["'self'", origin],
      'frame-src': ["'self'", origin],
      'base-uri': ["'none'"],
      'object-src': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'self'"],
    });
  });

  it("signs in through the issuer (authorization code with PKCE) and lists webhooks with the access token's role", async () => {
    await page.goto(consoleUrl);
    await entraButton.click();
    await toWebhookList();
    await page.getByText(`Signed in with ${MANAGER.preferred_username}`).waitFor();
    await rows.first().waitFor();
    // Webhooks.Manage is a manager: the model's webhook, never the registry-wide one an admin would see too.
    assert.equal(await rows.count(), 1);
    assert.equal(await page.locator(`a[href$="${modelHook}"]`).first().innerText(), 'entra-model');
    assert.equal(await page.locator('em', { hasText: 'registry-wide' }).count(), 0);
    await browser.screenshot('01-entra-signed-in');

    assert.equal(issuer.authorizeRequests.length, 1);
    const asked = issuer.authorizeRequests[0];
    assert.equal(asked?.get('client_id'), CLIENT_ID);
    assert.equal(asked?.get('redirect_uri'), consoleUrl);
    assert.equal(asked?.get('code_challenge_method'), 'S256');
    assert.ok(asked?.get('scope')?.split(' ').includes(`${AUDIENCE}/.default`), `scopes asked: ${asked?.get('scope') ?? ''}`);
    assert.deepEqual(
      issuer.tokenRequests.map(({ status, origin: from, params }) => ({ status, from, grant: params.grant_type })),
      [{ status: 200, from: runtime.baseUrl, grant: 'authorization_code' }],
    );

    assert.ok(apiCalls.length > 0, 'the page called the API');
    for (const call of apiCalls) {
      const claims = claimsOf(call.token);
      assert.equal(call.status, 200);
      assert.equal(claims.iss, issuer.issuer);
      assert.equal(claims.aud, AUDIENCE, 'the access token, not the id token, is sent to the API');
      assert.deepEqual(claims.roles, ['Webhooks.Manage']);
    }
    assert.ok(issuer.hits.jwks > 0, 'the runtime fetched the JWKS over HTTPS (it trusts the test certificate)');
    assert.deepEqual(
      addresses.filter((address) => apiCalls.some(({ token }) => address.includes(token))),
      [],
      'the access token never travels in an address',
    );
    assert.deepEqual(pageErrors, [], 'no script error and no CSP violation');
  });

  /** Signs out (if signed in), then in again through the issuer from the list's address, and waits for the list. */
  const signInAgain = async () => {
    const signOut = page.getByRole('button', { name: 'Sign out' });
    if (await signOut.count()) await signOut.click();
    await page.goto(consoleUrl);
    await entraButton.click();
    await toWebhookList();
    await rows.first().waitFor();
  };
  /** The grant types of the token requests since `from`, with the issuer's answer. */
  const grantsSince = (from: number) => issuer.tokenRequests.slice(from).map(({ params, status }) => `${params.grant_type ?? ''} ${status}`);

  it('renews an access token about to expire with the refresh token, from the page (connect-src)', async (t) => {
    // MSAL renews a token five minutes before it expires: one that lives two minutes is renewed at its first use.
    issuer.setTokens({ lifetimeSeconds: 120 });
    t.after(() => issuer.setTokens({ lifetimeSeconds: 600 }));
    const from = issuer.tokenRequests.length;
    const calls = apiCalls.length;
    await signInAgain();
    const grants = grantsSince(from);
    assert.equal(grants[0], 'authorization_code 200');
    assert.ok(grants.length > 1 && grants.slice(1).every((grant) => grant === 'refresh_token 200'), grants.join(', '));
    for (const request of issuer.tokenRequests.slice(from)) assert.equal(request.origin, runtime.baseUrl);
    const used = apiCalls.slice(calls);
    assert.ok(used.length > 0 && used.every((call) => call.status === 200 && claimsOf(call.token).aud === AUDIENCE));
    assert.deepEqual(pageErrors, []);
  });

  it('renews an access token in a hidden frame at the authority (frame-src) when there is no refresh token', async (t) => {
    issuer.setTokens({ lifetimeSeconds: 120, refreshTokens: false });
    t.after(() => issuer.setTokens({ lifetimeSeconds: 600, refreshTokens: true }));
    const from = issuer.tokenRequests.length;
    const authorizations = issuer.authorizeRequests.length;
    const calls = apiCalls.length;
    await signInAgain();
    const silent = issuer.authorizeRequests.slice(authorizations).filter((request) => request.get('prompt') === 'none');
    assert.ok(silent.length > 0, 'a prompt=none authorize request (the hidden frame)');
    assert.ok(grantsSince(from).every((grant) => grant === 'authorization_code 200'), grantsSince(from).join(', '));
    assert.ok(grantsSince(from).length > 1, 'the frame\'s code was redeemed too');
    const used = apiCalls.slice(calls);
    assert.ok(used.length > 0 && used.every((call) => call.status === 200));
    assert.deepEqual(pageErrors, []);
    await browser.screenshot('02-entra-renewed-in-frame');
  });

  it('signs out with a clear notice when Entra ID can no longer renew the sign-in', async (t) => {
    issuer.setTokens({ lifetimeSeconds: 120, refreshTokens: false });
    t.after(() => issuer.setTokens({ lifetimeSeconds: 600, refreshTokens: true }));
    await signInAgain();
    // The user's session at the authority ends: a silent renewal (prompt=none) answers login_required.
    issuer.signInAs(null);
    t.after(() => issuer.signInAs(MANAGER));
    const authorizations = issuer.authorizeRequests.length;
    await page.getByRole('link', { name: 'entra-model' }).click();
    const notice = page.getByRole('status').filter({ hasText: 'You were signed out' });
    await notice.waitFor();
    assert.match(await notice.innerText(), /Entra ID did not renew your sign-in \(login_required/);
    assert.ok(issuer.authorizeRequests.slice(authorizations).some((request) => request.get('prompt') === 'none'));
    await entraButton.waitFor();
    assert.equal((await stored()).session.filter((value) => /eyJ/.test(value)).length, 0, 'nothing of the ended sign-in is kept');
    await browser.screenshot('03-entra-renewal-refused');
  });

  it("keeps MSAL's cache in sessionStorage only; sign-out clears it, so a reload is signed out", async () => {
    await signInAgain();
    const token = apiCalls.at(-1)?.token ?? '';
    const before = await stored();
    assert.equal(before.local, 0, 'nothing in localStorage');
    assert.ok(
      before.session.some((value) => value.includes(token)),
      'the access token is cached in sessionStorage',
    );

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const afterSignOut = await stored();
    assert.equal(afterSignOut.local, 0);
    assert.deepEqual(
      afterSignOut.session.filter((value) => /eyJ|access_?token|idtoken|refresh_?token/i.test(value) || value.includes(MANAGER.preferred_username)),
      [],
      'no token or account left in sessionStorage',
    );
    const calls = apiCalls.length;
    const tokenRequests = issuer.tokenRequests.length;
    await page.reload();
    await entraButton.waitFor();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(apiCalls.length, calls, 'a reload after sign-out calls nothing with a token');
    assert.equal(issuer.tokenRequests.length, tokenRequests, 'nor asks the issuer for one');

    // On a shared browser the next person must not be signed back in as the previous one without a choice.
    const authorizations = issuer.authorizeRequests.length;
    await entraButton.click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(issuer.authorizeRequests.slice(authorizations).find((query) => query.get('prompt') !== 'none')?.get('prompt'), 'select_account', 'an interactive sign-in lets the user pick the account');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('refuses an access token for another audience, and the console says why', async (t) => {
    const wrong = await issuer.sign({ sub: 'entra-manager', roles: ['Webhooks.Manage'] }, { audience: 'api://some-other-api' });
    const direct = await runtime.api('GET', `${API}/list`, { token: wrong });
    assert.equal(direct.status, 401, direct.text);

    issuer.issueAccessTokensFor('api://some-other-api');
    t.after(() => issuer.issueAccessTokensFor(undefined));
    await entraButton.click();
    const notice = page.getByRole('status').filter({ hasText: 'the service refused the token' });
    await notice.waitFor();
    assert.match(await notice.innerText(), /UNAUTHENTICATED|"aud" claim/);
    await browser.screenshot('04-entra-wrong-audience');
    assert.equal(apiCalls.at(-1)?.status, 401);
    assert.equal(claimsOf(apiCalls.at(-1)?.token ?? '').aud, 'api://some-other-api');
    await entraButton.waitFor();
    assert.equal((await stored()).session.filter((value) => /eyJ/.test(value)).length, 0, 'the refused sign-in left no token behind');
  });

  it('the issuer redeems a code only once, and only with the PKCE verifier of its challenge', async (t) => {
    const tls = new Agent({ connect: { ca: TEST_CERT } });
    t.after(() => tls.close());
    const codeFor = async (verifier: string): Promise<string> => {
      const query = new URLSearchParams({
        client_id: CLIENT_ID,
        redirect_uri: consoleUrl,
        response_type: 'code',
        scope: `openid ${AUDIENCE}/.default`,
        state: 's',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      });
      const answer = await undiciFetch(`${issuer.issuer}/authorize?${query.toString()}`, { redirect: 'manual', dispatcher: tls });
      const code = new URL(answer.headers.get('location') ?? '').searchParams.get('code');
      assert.ok(code, `no code in ${answer.headers.get('location') ?? String(answer.status)}`);
      return code;
    };
    const redeem = async (code: string, verifier: string) => {
      const answer = await undiciFetch(`${issuer.issuer}/token`, {
        method: 'POST',
        headers: { origin: runtime.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: CLIENT_ID, redirect_uri: consoleUrl, code, code_verifier: verifier }).toString(),
        dispatcher: tls,
      });
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    };
    const verifier = randomBytes(32).toString('base64url');
    const code = await codeFor(verifier);
    assert.deepEqual((await redeem(code, randomBytes(32).toString('base64url'))).body.error, 'invalid_grant', 'a wrong verifier');
    const good = await codeFor(verifier);
    const redeemed = await redeem(good, verifier);
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    assert.equal(claimsOf(String(redeemed.body.access_token)).aud, AUDIENCE);
    assert.equal((await redeem(good, verifier)).body.error, 'invalid_grant', 'a second redemption');
  });
});

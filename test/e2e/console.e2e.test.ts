import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createHook, deliveriesOf, publish, versionCreated, waitForDeliveries } from '../support/api-helpers.js';
import { EVENT_NAMES } from '../../src/webhooks/events.js';
import { recordSecrets } from '../support/artifacts.js';
import { testAzurite } from '../support/azurite.js';
import { SCREENSHOT_DIR, startBrowser } from '../support/browser.js';
import { payloadProblem } from '../support/openapi-check.js';
import { startFakeDatabricks } from '../support/fake-databricks.js';
import { answer, startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, MANAGER_TOKEN, startRuntime, TEAM_MANAGER_TOKEN, testEnv } from '../support/runtime-process.js';

const DATABRICKS_TOKEN = 'dapi-console-test-token-0123456789';
const HOOK_SECRET = 'console-typed-signing-secret-4711';

/**
 * The console in a real browser (Debian's chromium driven by playwright-core), against the runtime `npm start`
 * runs, on Azurite, with real receivers and the fake Databricks Jobs API. The tests run in order on one page.
 */
describe('console (chromium)', async () => {
  const azurite = await testAzurite();
  const receiver = await startReceiver({ behaviour: answer(200, 'received by the console test') });
  const flaky = await startReceiver({ behaviour: answer(500, 'down for maintenance') });
  const workspace = await startFakeDatabricks(DATABRICKS_TOKEN);
  workspace.defineJob('4242', [{ task_key: 'nb', notebook_task: { notebook_path: '/Shared/on-event' } }]);
  const runtime = await startRuntime(testEnv(azurite.connectionString));
  // A time zone far from the machine's: the page must show times in the viewer's zone.
  const browser = await startBrowser({ timezoneId: 'Asia/Kolkata', locale: 'en-US' });
  const { page } = browser;
  recordSecrets([HOOK_SECRET, DATABRICKS_TOKEN]);
  const consoleUrl = `${runtime.baseUrl}/api/console`;
  const shots: string[] = [];
  const shot = async (name: string) => shots.push(await browser.screenshot(name));
  after(() => console.log(`console screenshots (${shots.length}) in ${SCREENSHOT_DIR}`));
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });

  // Tokens travel only in the Authorization header: never in an address the page loads or calls.
  const tokenInUrl: string[] = [];
  page.on('request', (request) => {
    if ([ADMIN_TOKEN, MANAGER_TOKEN, TEAM_MANAGER_TOKEN].some((token) => request.url().includes(token))) tokenInUrl.push(request.url());
  });
  /** Form controls on the page without an accessible name (a <label>, aria-label or aria-labelledby). */
  const unlabelled = () =>
    page.evaluate<string[]>(
      '[...document.querySelectorAll("input, select, textarea")].filter((el) => el.type !== "hidden" && el.labels.length === 0 && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")).map((el) => el.outerHTML)',
    );

  const ids: Record<string, string> = {};
  const open = async (hash: string) => {
    await page.goto(`${consoleUrl}${hash}`);
    await page.locator('main h1').first().waitFor();
  };
  // Evaluated in the page (strings: the test is compiled without the DOM's types).
  const stored = () => page.evaluate<{ session: string[]; local: number }>('({ session: Object.values(sessionStorage), local: localStorage.length })');
  /** Waits until no view is loading any more. */
  const loaded = () => page.locator('.loading').first().waitFor({ state: 'detached' });
  const refreshUntil = async (page: Page, text: RegExp, scope = page.locator('table[aria-label="Deliveries, newest first"]')) => {
    for (let tries = 0; tries < 60; tries += 1) {
      if (await scope.getByText(text).count()) return;
      await page.getByRole('button', { name: 'Refresh' }).first().click();
      await page.waitForTimeout(500);
    }
    assert.fail(`never saw ${text}`);
  };

  it('serves the page, its assets and its sign-in configuration publicly, with a strict CSP and no inline script', async () => {
    const response = await fetch(consoleUrl);
    assert.equal(response.status, 200);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /^default-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|connect-src|frame-src/);
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /importmap|https?:\/\//, 'no import map, nothing from another origin');
    const script = await fetch(`${consoleUrl}/console.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.deepEqual(await (await fetch(`${consoleUrl}/config.json`)).json(), { sign_in: null });
    assert.equal((await fetch(`${consoleUrl}/..%2Fpackage.json`)).status, 404);
  });

  it('refuses a bad token, keeps a good one in sessionStorage only, and signs out', async () => {
    await page.goto(consoleUrl);
    await page.getByLabel('Bearer token').fill('not-a-valid-token-at-all-0000');
    await page.getByLabel('Bearer token').press('Enter');
    await page.getByRole('alert').filter({ hasText: 'refused this token' }).waitFor();
    assert.match(await page.getByRole('alert').innerText(), /UNAUTHENTICATED/);
    await shot('01-sign-in-refused');
    assert.deepEqual(await stored(), { session: [], local: 0 });

    await page.getByLabel('Bearer token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();
    await shot('02-webhooks-empty');
    assert.deepEqual(await stored(), { session: [ADMIN_TOKEN], local: 0 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(await stored(), { session: [], local: 0 });
    await page.getByLabel('Bearer token').fill(ADMIN_TOKEN);
    await page.getByLabel('Bearer token').press('Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  });

  it('shows the event catalog: every event with an example payload, read from the served event schemas', async () => {
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    await loaded();
    for (const event of EVENT_NAMES) {
      const text = await page.getByLabel(`Example ${event} payload`).innerText();
      assert.equal((JSON.parse(text) as { event: string }).event, event);
      assert.equal(payloadProblem(text), undefined, event);
    }
    assert.deepEqual(pageErrors.filter((text) => !/the server responded with a status of 401/.test(text)), []);
    await shot('02b-event-catalog');
  });

  it("shows the API's validation message beside its field", async () => {
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByLabel('Model name').fill('fraud-detector');
    await page.getByLabel('MODEL_VERSION_CREATED', { exact: true }).check();
    await page.getByLabel('URL').fill('ftp://files.example/hook');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const message = page.locator('#wh-url-error');
    await message.waitFor();
    assert.match(await message.innerText(), /^Invalid parameter 'http_url_spec\.url': must be an https:\/\/ URL/);
    assert.equal(await page.getByLabel('URL').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'wh-url', 'the field with the error has the focus');
    await shot('03-create-validation-error');

    await page.getByLabel('URL').fill('https://example.com/hook');
    await page.getByLabel('MODEL_VERSION_CREATED', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('#wh-events-error').waitFor();
    assert.match(await page.locator('#wh-events-error').innerText(), /'events'/);
    assert.equal(await page.locator('#wh-url-error').count(), 0, 'the old message is gone');
    assert.deepEqual(await unlabelled(), [], 'HTTPS endpoint form');
    await page.getByLabel('Databricks job').check();
    await page.getByLabel('Job id').waitFor();
    assert.deepEqual(await unlabelled(), [], 'job form');
    await page.getByLabel('HTTPS endpoint').check();
  });

  it('creates an HTTP webhook and a job webhook, and never shows a secret after saving', async () => {
    await page.getByLabel('MODEL_VERSION_CREATED', { exact: true }).check();
    await page.getByLabel('MODEL_VERSION_TRANSITIONED_STAGE', { exact: true }).check();
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByLabel('Description').fill('Fraud team notifications');
    await page.getByLabel('Signing secret').fill(HOOK_SECRET);
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByText('Webhook created.').waitFor();
    ids.http = /#\/webhooks\/([0-9a-f]{32})/.exec(page.url())?.[1] ?? '';
    assert.match(ids.http, /^[0-9a-f]{32}$/);
    assert.ok(!(await page.content()).includes(HOOK_SECRET));
    await shot('04-webhook-created');

    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByLabel('Model name').fill('churn model/v2');
    await page.getByLabel('MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', { exact: true }).check();
    await page.getByLabel('Databricks job').check();
    await page.getByLabel('Job id').fill('4242');
    await page.getByLabel('Access token').fill(DATABRICKS_TOKEN);
    await page.getByLabel('Workspace URL').fill(workspace.url);
    await shot('05-create-job-webhook');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByText('Webhook created.').waitFor();
    ids.job = /#\/webhooks\/([0-9a-f]{32})/.exec(page.url())?.[1] ?? '';
    assert.ok(!(await page.content()).includes(DATABRICKS_TOKEN));

    const listed = await runtime.api('GET', `${API}/list`);
    const webhooks = listed.json.webhooks as { id: string; model_name: string; http_url_spec?: { url: string }; job_spec?: { job_id: string; workspace_url: string } }[];
    assert.deepEqual(webhooks.find((hook) => hook.id === ids.http)?.http_url_spec?.url, receiver.url);
    assert.deepEqual(webhooks.find((hook) => hook.id === ids.job)?.job_spec, { job_id: '4242', workspace_url: workspace.url });
  });

  it('offers the payload formats and a rate limit on the create form', async () => {
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByLabel('Model name').fill('fraud-detector');
    await page.getByLabel('MODEL_VERSION_CREATED', { exact: true }).check();
    await page.getByLabel('URL').fill(receiver.url);
    const formats = await page.getByLabel('Payload format').locator('option').allInnerTexts();
    assert.deepEqual(formats, ['Databricks JSON (default)', 'Slack message', 'Teams message (Adaptive Card)', 'GitHub Actions (repository_dispatch)', 'Azure DevOps pipeline run', 'CloudEvents (structured JSON)']);
    await page.getByLabel('Payload format').selectOption('slack');
    await page.getByText("A Slack incoming webhook's URL").waitFor();
    await page.getByLabel('Max requests per second').fill('1.5');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('#wh-rate-error').waitFor();
    assert.match(await page.locator('#wh-rate-error').innerText(), /'http_url_spec\.max_requests_per_second'/);
    await page.getByLabel('Max requests per second').fill('1');
    assert.deepEqual(await unlabelled(), [], 'the form with its routing fields');
    await shot('05b-create-slack-webhook');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByText('Webhook created.').waitFor();
    const id = /#\/webhooks\/([0-9a-f]{32})/.exec(page.url())?.[1] ?? '';
    const listed = (await runtime.api('GET', `${API}/list?model_name=fraud-detector`)).json.webhooks as { id: string; http_url_spec?: Record<string, unknown> }[];
    assert.deepEqual(listed.find((hook) => hook.id === id)?.http_url_spec, { url: receiver.url, enable_ssl_verification: true, format: 'slack', max_requests_per_second: 1 });
    assert.equal((await runtime.api('DELETE', `${API}/delete`, { body: { id } })).status, 200);
    await open(`#/webhooks/${ids.job}`);
    await page.getByRole('button', { name: 'Send test event' }).waitFor();
  });

  it("tests a webhook and shows the target's status and body", async () => {
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText('The target answered').waitFor();
    assert.match(await page.locator('.test-result').innerText(), /HTTP 200/);
    assert.equal(workspace.runNow.length, 1, 'the job webhook test started a run');
    await shot('06-job-webhook-test');

    await open(`#/webhooks/${ids.http}`);
    await page.getByLabel('Event to send').selectOption('MODEL_VERSION_TRANSITIONED_STAGE');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByLabel('Response body').waitFor();
    assert.equal(await page.getByLabel('Response body').innerText(), 'received by the console test');
    assert.match(await page.locator('.test-result').innerText(), /HTTP 200/);
    const sent = receiver.requests.at(-1);
    assert.equal((JSON.parse(sent?.body ?? '{}') as { event?: string }).event, 'MODEL_VERSION_TRANSITIONED_STAGE');
    await shot('07-webhook-test');
  });

  it('lists webhooks by model, with a filter and paging', async () => {
    await open('#/webhooks?size=1');
    await loaded();
    assert.equal(await page.locator('table[aria-label="Webhooks"] tbody tr').count(), 1);
    const first = await page.locator('table[aria-label="Webhooks"] tbody').innerText();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2').waitFor();
    // The page label can change a moment before the rows do: wait for the rows (a console that never pages still fails below).
    const webhookRows = page.locator('table[aria-label="Webhooks"] tbody');
    for (const deadline = Date.now() + 10_000; (await webhookRows.innerText()) === first && Date.now() < deadline; ) await page.waitForTimeout(50);
    assert.notEqual(await webhookRows.innerText(), first);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Page 1').waitFor();

    await open('#/webhooks');
    await page.getByLabel('Model name').fill('churn model/v2');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'Clear filter' }).waitFor();
    await loaded();
    const rows = page.locator('table[aria-label="Webhooks"] tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.innerText(), /job 4242/);
    await page.getByLabel('Model name').fill('no such model');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No webhooks match this filter.').waitFor();
    await page.getByRole('link', { name: 'Clear filter' }).click();
    await rows.nth(1).waitFor();
    // Times are shown in the viewer's zone (Asia/Kolkata here), with the zone named.
    assert.match(await page.locator('table time').first().innerText(), /GMT\+5:30/);
    await shot('08-webhooks-list');
  });

  it('shows a published event delivered, with its attempts and payload', async () => {
    const [eventId] = await publish(runtime, [versionCreated('fraud-detector', { version: '7' })]);
    await open(`#/webhooks/${ids.http}`);
    await refreshUntil(page, /SUCCEEDED/);
    // The Refresh that shows the delivery also refreshes the health above it: the two tell one story.
    const health = page.locator('section[aria-labelledby="health-heading"]');
    await health.getByText('Healthy: the last delivery succeeded.').waitFor({ timeout: 5000 });
    assert.match(await health.innerText(), /Deliveries \(24 h\)\s+1\b/);
    await shot('09-webhook-detail-deliveries');
    await page.locator('table[aria-label="Deliveries, newest first"] a').first().click();
    await page.getByRole('heading', { name: 'Delivery', level: 1 }).waitFor();
    await page.getByText(eventId ?? '').waitFor();
    await loaded();
    const hasDetail = (await page.locator('.unavailable').count()) === 0;
    if (hasDetail) {
      assert.match(await page.locator('table[aria-label="Attempts"]').innerText(), /HTTP 200/);
      assert.match(await page.locator('pre.payload').innerText(), /"version": "7"/);
    } else {
      assert.match(await page.locator('.unavailable').innerText(), /not available on this server/);
    }
    await shot('10-delivery-succeeded');
  });

  it("shows a failing receiver's attempts, then redelivers once it recovers", async () => {
    ids.flaky = await createHook(runtime, { model_name: 'fraud-detector', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: flaky.url } });
    await publish(runtime, [versionCreated('fraud-detector', { version: '8' })]);
    await waitForDeliveries(runtime, ids.flaky, (deliveries) => deliveries[0]?.status === 'FAILED');
    await open(`#/webhooks/${ids.flaky}`);
    await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
    await page.getByText('Page 1').waitFor();
    const row = page.locator('table[aria-label="Deliveries, newest first"] tbody tr').first();
    await row.waitFor();
    assert.match(await row.innerText(), /FAILED[\s\S]*4[\s\S]*HTTP 500/);
    await page.getByLabel('Status', { exact: true }).selectOption('SUCCEEDED');
    await page.getByText('No SUCCEEDED deliveries.').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: 'Delivery', level: 1 }).waitFor();
    await loaded();
    if ((await page.locator('.unavailable').count()) === 0) {
      const attempts = page.locator('table[aria-label="Attempts"] tbody tr');
      assert.equal(await attempts.count(), 4);
      assert.match(await attempts.first().innerText(), /HTTP 500[\s\S]*down for maintenance/);
    }
    assert.match(await page.locator('dl.summary').innerText(), /HTTP 500/);
    await shot('11-delivery-failed');

    flaky.setBehaviour(answer(200, 'back'));
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText('Queued for redelivery').waitFor();
    await refreshUntil(page, /SUCCEEDED/, page.locator('#delivery-heading'));
    const [delivery] = await deliveriesOf(runtime, ids.flaky);
    assert.equal(delivery?.status, 'SUCCEEDED');
    const ids1 = new Set(flaky.requests.map((request) => request.headers['webhook-id']));
    assert.equal(ids1.size, 1, 'the redelivery kept the webhook-id');
    await shot('12-delivery-redelivered');
  });

  it("shows the endpoint's real health: four failures, then the redelivered success", async () => {
    await open(`#/webhooks/${ids.flaky}`);
    const panel = page.locator('section[aria-labelledby="health-heading"]');
    await panel.locator('p').first().waitFor();
    await loaded();
    await panel.getByText('Last success').waitFor();
    const text = await panel.innerText();
    assert.doesNotMatch(text, /not available/);
    assert.match(text, /Healthy: the last delivery succeeded/);
    // One delivery in 24 h, succeeded (on its fifth attempt), and no failure since.
    assert.match(text, /Consecutive failures\s+0/);
    assert.match(text, /Deliveries \(24 h\)\s+1/);
    assert.match(text, /Success rate \(24 h\)\s+100%/);
    const { json } = await runtime.api('GET', `${API}/webhooks/health?id=${ids.flaky}`, { token: ADMIN_TOKEN });
    const health = json.health as Record<string, number>;
    assert.ok(health.last_failure_timestamp !== undefined && health.last_success_timestamp !== undefined && health.last_failure_timestamp < health.last_success_timestamp);
    await shot('13-endpoint-health');
  });

  it('renders hostile strings from the API as text: model name, description, target answers, last error, payload', async () => {
    const hostile = (tag: string) => `<img src=x class=injected-${tag} onerror="document.title='xss'"><script>document.title='xss'</script>`;
    const model = `m${hostile('model')}`;
    flaky.setBehaviour(answer(500, hostile('body')));
    ids.hostile = await createHook(runtime, { model_name: model, description: hostile('description'), events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: flaky.url } });
    await publish(runtime, [versionCreated(model, { version: '9' })]);
    await waitForDeliveries(runtime, ids.hostile, (deliveries) => (deliveries[0]?.status ?? 'PENDING') !== 'PENDING');
    const injected = () => page.evaluate<number>('document.querySelectorAll("[class^=injected], main script, a[href^=javascript]").length + (document.title === "xss" ? 100 : 0)');

    await open(`#/webhooks?model_name=${encodeURIComponent(model)}`);
    await page.getByRole('link', { name: model }).waitFor();
    assert.equal(await injected(), 0, 'list');
    await page.getByRole('link', { name: model }).click();
    await page.getByText(hostile('description')).first().waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByLabel('Response body').waitFor();
    assert.equal(await page.getByLabel('Response body').innerText(), hostile('body'));
    await refreshUntil(page, /HTTP 500/);
    assert.equal(await injected(), 0, 'webhook page, test result and deliveries');
    await page.locator('table[aria-label="Deliveries, newest first"] a').first().click();
    await page.getByRole('heading', { name: 'Delivery', level: 1 }).waitFor();
    await loaded();
    if ((await page.locator('.unavailable').count()) === 0) {
      assert.ok((await page.locator('table[aria-label="Attempts"]').innerText()).includes(hostile('body')));
      assert.ok((await page.locator('pre.payload').innerText()).includes(JSON.stringify(model).slice(1, -1)));
    }
    assert.equal(await injected(), 0, 'delivery page');
    flaky.setBehaviour(answer(200, 'back'));
  });

  it('shows a manager only what the API allows a manager: never a registry-wide webhook', async () => {
    ids.registry = await createHook(runtime, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: receiver.url } });
    await open('#/webhooks');
    await page.locator('em', { hasText: 'registry-wide' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Bearer token').fill(MANAGER_TOKEN);
    await page.getByLabel('Bearer token').press('Enter');
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    // The API answers a manager's list without a model name as its role allows; the page follows it.
    const managerList = await runtime.api('GET', `${API}/list`, { token: MANAGER_TOKEN });
    const rows = page.locator('table[aria-label="Webhooks"] tbody tr');
    if (managerList.status === 403) {
      await page.getByText('enter a model name').waitFor();
    } else {
      await rows.first().waitFor();
      assert.equal(await rows.count(), (managerList.json.webhooks as unknown[]).length);
    }
    assert.equal(await page.locator('em', { hasText: 'registry-wide' }).count(), 0);
    await page.getByLabel('Model name').fill('fraud-detector');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'Clear filter' }).waitFor();
    await loaded();
    assert.equal(await rows.count(), 2);
    await shot('14-manager-webhooks');
    await open(`#/webhooks/${ids.registry}`);
    await page.getByText('was not found, or your role may not see it').waitFor();

    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByLabel('REGISTERED_MODEL_CREATED', { exact: true }).check();
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('alert').filter({ hasText: 'PERMISSION_DENIED' }).waitFor();
    await shot('15-manager-registry-wide-refused');
  });

  it('deletes a webhook only after confirmation', async () => {
    await open(`#/webhooks?model_name=${encodeURIComponent('churn model/v2')}`);
    await page.getByRole('link', { name: 'churn model/v2' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this webhook?' });
    await dialog.waitFor();
    await shot('16-delete-confirmation');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(((await runtime.api('GET', `${API}/list`)).json.webhooks as { id: string }[]).some((hook) => hook.id === ids.job), 'cancelled: still there');

    await page.getByRole('button', { name: 'Delete…' }).click();
    await dialog.getByRole('button', { name: 'Delete webhook' }).click();
    await page.getByText('Webhook deleted.').waitFor();
    assert.ok(!((await runtime.api('GET', `${API}/list`)).json.webhooks as { id: string }[]).some((hook) => hook.id === ids.job), 'deleted');
    await page.getByText('No webhooks match this filter.').waitFor();
    await shot('17-webhook-deleted');
    assert.deepEqual(pageErrors.filter((text) => !/the server responded with a status of (400|401|403|404)/.test(text)), []);
  });

  it("shows a manager scoped to some models only those models' webhooks and deliveries", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Bearer token').fill(TEAM_MANAGER_TOKEN);
    await page.getByLabel('Bearer token').press('Enter');
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await open('#/webhooks');
    await loaded();
    const rows = page.locator('table[aria-label="Webhooks"] tbody tr');
    const listed = (await runtime.api('GET', `${API}/list`, { token: TEAM_MANAGER_TOKEN })).json.webhooks as { model_name?: string }[];
    assert.ok(listed.length > 0 && listed.every((hook) => hook.model_name === 'fraud-detector'), JSON.stringify(listed));
    await rows.first().waitFor();
    assert.equal(await rows.count(), listed.length);
    assert.equal(await page.locator('em', { hasText: 'registry-wide' }).count(), 0);
    assert.doesNotMatch(await page.locator('main').innerText(), /<img/);
    assert.deepEqual(await unlabelled(), [], 'webhook list');

    // Another model's webhook and its delivery, opened by address: not shown, and nothing of them on the page.
    await open(`#/webhooks/${ids.hostile}`);
    await page.getByText('was not found, or your role may not see it').waitFor();
    const [hostileDelivery] = await deliveriesOf(runtime, ids.hostile ?? '');
    await open(`#/deliveries/${hostileDelivery?.id ?? ''}`);
    await page.getByRole('alert').filter({ hasText: 'PERMISSION_DENIED' }).waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /HTTP 500|MODEL_VERSION_CREATED|Redeliver/);
    assert.equal(await page.locator('main img, main script, table[aria-label="Attempts"]').count(), 0);
    await shot('18-scoped-manager-other-model-delivery');

    await open(`#/webhooks/${ids.http}`);
    await page.getByLabel('Event to send').waitFor();
    assert.deepEqual(await unlabelled(), [], 'webhook page');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Bearer token').waitFor();
    assert.deepEqual(await stored(), { session: [], local: 0 }, 'signed out: nothing kept');
    assert.deepEqual(tokenInUrl, []);
  });
});

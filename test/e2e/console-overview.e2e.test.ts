import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createHook, publish, versionCreated, waitForDeliveries } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { screenshotDir, startBrowser } from '../support/browser.js';
import { answer, startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, startRuntime, TEAM_MANAGER_TOKEN, testEnv, waitFor } from '../support/runtime-process.js';

/** Where the overview's screenshots go (git-ignored); scripts/copy-console-screenshot.ts copies one to docs/. */
export const OVERVIEW_SHOTS = screenshotDir('console-overview');

interface HourSummary {
  start_timestamp: number;
  succeeded: number;
  failed: number;
  skipped: number;
  in_progress: number;
}
interface Summary {
  hours: HourSummary[];
  totals: Omit<HourSummary, 'start_timestamp'>;
  webhook_count: number;
}

/**
 * The overview (the landing page) in chromium, against the runtime on Azurite with real receivers: a healthy,
 * a failing and a service-disabled (410 Gone) webhook, an admin's and a scoped manager's view, light and dark.
 */
describe('console overview (chromium)', async () => {
  const azurite = await testAzurite();
  const healthy = await startReceiver({ behaviour: answer(200, 'ok') });
  const failing = await startReceiver({ behaviour: answer(500, 'scoring is down') });
  const gone = await startReceiver({ behaviour: answer(410, 'this endpoint is retired') });
  const otherTeam = await startReceiver({ behaviour: answer(503, 'pricing is down') });
  const runtime = await startRuntime(testEnv(azurite.connectionString));
  const browser = await startBrowser({ timezoneId: 'Europe/Berlin', locale: 'en-GB', screenshots: OVERVIEW_SHOTS });
  const { page } = browser;
  const consoleUrl = `${runtime.baseUrl}/api/console`;
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // A refused call shows as a console error: the overview makes none, whatever the role.
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  after(() => console.log(`overview screenshots in ${OVERVIEW_SHOTS}`));

  const hooks = {
    healthy: await createHook(runtime, { model_name: 'fraud-detector', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: healthy.url } }),
    failing: await createHook(runtime, { model_name: 'fraud-scoring', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: failing.url } }),
    gone: await createHook(runtime, { model_name: 'churn-model', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: gone.url } }),
    otherTeam: await createHook(runtime, { model_name: 'pricing', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: otherTeam.url } }),
  };
  // Events of the last day, stamped hours ago: the chart counts them by the hour of the event.
  const hoursAgo = (hours: number) => ({ event_timestamp: Date.now() - hours * 3_600_000 });
  const spread = { healthy: [22, 21, 19, 18, 18, 16, 13, 12, 12, 12, 9, 7, 6, 6, 4, 3, 2, 1, 0, 0], failing: [3, 1, 0], otherTeam: [5], gone: [0] };
  await publish(runtime, [
    ...spread.healthy.map((hours, n) => versionCreated('fraud-detector', { version: String(n + 1), ...hoursAgo(hours) })),
    ...spread.failing.map((hours, n) => versionCreated('fraud-scoring', { version: String(n + 1), ...hoursAgo(hours) })),
    ...spread.otherTeam.map((hours) => versionCreated('pricing', hoursAgo(hours))),
    ...spread.gone.map((hours) => versionCreated('churn-model', hoursAgo(hours))),
  ]);
  const allSettled = (count: number, status: string) => (deliveries: { status: string }[]) => deliveries.length === count && deliveries.every((delivery) => delivery.status === status);
  await waitForDeliveries(runtime, hooks.healthy, allSettled(spread.healthy.length, 'SUCCEEDED'));
  await waitForDeliveries(runtime, hooks.failing, allSettled(spread.failing.length, 'FAILED'));
  await waitForDeliveries(runtime, hooks.otherTeam, allSettled(spread.otherTeam.length, 'FAILED'));
  await waitForDeliveries(runtime, hooks.gone, allSettled(spread.gone.length, 'FAILED'));
  await waitFor('the 410 to disable its webhook', async () => {
    const { json } = await runtime.api('GET', `${API}/webhooks/health?id=${hooks.gone}`);
    return (json.health as { status?: string }).status === 'SERVICE_DISABLED' || undefined;
  });

  const summaryOf = async (token: string, webhookId?: string): Promise<Summary> => {
    const response = await runtime.api('GET', `${API}/deliveries/summary?hours=24${webhookId ? `&webhook_id=${webhookId}` : ''}`, { token });
    assert.equal(response.status, 200, response.text);
    return response.json as unknown as Summary;
  };
  const signIn = async (token: string) => {
    await page.goto(consoleUrl);
    await page.getByLabel('Bearer token').fill(token);
    await page.getByLabel('Bearer token').press('Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await loaded();
  };
  const loaded = () => page.locator('.loading').first().waitFor({ state: 'detached' });
  const states = page.locator('ul[aria-label="Webhooks by state"] > li');
  /** The chart's table, row by row: its hour, then succeeded, failed, skipped, in progress, total. */
  const chartFigures = async (name: string) => {
    const table = page.getByRole('table', { name: `${name}, figures` });
    await page.getByText(`${name} as a table`).click();
    await table.waitFor();
    // Evaluated in the page (strings: the test is compiled without the DOM's types).
    const rows = JSON.stringify(`table[aria-label="${name}, figures"] tbody tr`);
    return page.evaluate<number[][]>(`[...document.querySelectorAll(${rows})].map((row) => [Number(row.dataset.hour), ...[...row.querySelectorAll("td")].map((cell) => Number(cell.textContent))])`);
  };
  const apiFigures = (summary: Summary) => summary.hours.map((hour) => [hour.start_timestamp, hour.succeeded, hour.failed, hour.skipped, hour.in_progress, hour.succeeded + hour.failed + hour.skipped + hour.in_progress]);

  it('answers the summary call, and refuses bad input naming the field', async () => {
    const all = await summaryOf(ADMIN_TOKEN);
    assert.equal(all.hours.length, 24);
    assert.deepEqual(all.totals, { succeeded: 20, failed: 5, skipped: 0, in_progress: 0 });
    assert.equal(all.webhook_count, 4);
    for (const [query, field] of [['hours=0', 'hours'], ['hours=abc', 'hours'], ['webhook_id=x', 'webhook_id'], ['status=FAILED', 'status']] as const) {
      const refused = await runtime.api('GET', `${API}/deliveries/summary?${query}`);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(String(refused.json.message), new RegExp(`'${field}'`));
    }
    const team = await summaryOf(TEAM_MANAGER_TOKEN);
    assert.deepEqual(team.totals, { succeeded: 20, failed: 4, skipped: 0, in_progress: 0 }, "pricing's failure is another team's");
    assert.equal((await runtime.api('GET', `${API}/deliveries/summary?webhook_id=${hooks.otherTeam}`, { token: TEAM_MANAGER_TOKEN })).status, 403);
    assert.equal((await runtime.api('GET', `${API}/service/status`, { token: TEAM_MANAGER_TOKEN })).status, 403);
  });

  it('lands an admin on the overview: the disabled webhook first with why and since, then the failing ones, then the healthy one', async () => {
    await signIn(ADMIN_TOKEN);
    await states.nth(3).waitFor();
    const texts = await states.allInnerTexts();
    assert.equal(texts.length, 4);
    assert.match(texts[0] ?? '', /^SERVICE DISABLED[\s\S]*churn-model[\s\S]*Disabled by the service since .+: its endpoint answered 410 Gone/);
    assert.match(texts[1] ?? '', /^FAILING[\s\S]*Failing since .+, \d+ failures in a row/);
    assert.match(texts[2] ?? '', /^FAILING/);
    assert.deepEqual(texts.slice(1, 3).map((text) => /fraud-scoring|pricing/.exec(text)?.[0]).sort(), ['fraud-scoring', 'pricing']);
    assert.match(texts[3] ?? '', /^HEALTHY[\s\S]*fraud-detector[\s\S]*Healthy: the last delivery succeeded/);
    await page.getByText('3 of 4 webhooks need attention.').waitFor();
    const service = page.getByRole('region', { name: 'The service' });
    await service.getByText('Unreadable webhooks').waitFor();
    assert.match(await service.innerText(), /Queue registry-events\s+0 waiting[\s\S]*Poison queue registry-events-poison\s+0 messages[\s\S]*Source mlflow\s+not configured/);
    assert.deepEqual(pageErrors, []);
  });

  it('reads well in the light and the dark theme', async () => {
    const colours = () =>
      page.evaluate<{ background: string; text: string; panel: string; failed: string }>(
        '({ background: getComputedStyle(document.documentElement).backgroundColor, text: getComputedStyle(document.documentElement).color, panel: getComputedStyle(document.querySelector(".panel")).backgroundColor, failed: getComputedStyle(document.querySelector("rect.series-failed")).fill })',
      );
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await colours();
    await browser.screenshot('overview-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await colours();
    await browser.screenshot('overview-dark');
    assert.equal(light.background, 'rgb(246, 247, 249)');
    assert.equal(dark.background, 'rgb(18, 22, 29)');
    assert.notEqual(dark.panel, light.panel);
    assert.notEqual(dark.text, light.text);
    assert.notEqual(dark.failed, light.failed);
    for (const theme of [light, dark]) assert.ok(contrast(theme.text, theme.panel) >= 7, JSON.stringify(theme));
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it("draws the chart with the API's numbers, as bars and as a table", async () => {
    const api = await summaryOf(ADMIN_TOKEN);
    assert.deepEqual(await chartFigures('Deliveries, last 24 hours'), apiFigures(api));
    await browser.screenshot('overview-chart-table');
    const chart = page.getByRole('img', { name: /^Deliveries, last 24 hours, per hour:/ });
    assert.match((await chart.getAttribute('aria-label')) ?? '', /20 succeeded, 5 failed, 0 skipped, 0 in progress in 24 hours/);
    // One bar per hour, each segment as tall as its share: the failed segments add up to the API's failures.
    const bars = chart.locator('g.bar');
    assert.equal(await bars.count(), 24);
    const heights = await page.evaluate<[string, number][]>('[...document.querySelectorAll("figure.chart svg rect")].map((rect) => [rect.getAttribute("class"), Number(rect.getAttribute("height"))])');
    const unit = Math.min(...heights.map(([, height]) => height));
    const sum = (series: string) => Math.round(heights.filter(([name]) => name === `series-${series}`).reduce((total, [, height]) => total + height, 0) / unit);
    const busiest = Math.max(...api.hours.map((hour) => hour.succeeded + hour.failed));
    if (busiest <= 4) assert.deepEqual([sum('succeeded'), sum('failed')], [api.totals.succeeded, api.totals.failed]);
    assert.match(await page.locator('ul.legend').innerText(), /Succeeded\s+20\s+Failed\s+5\s+Skipped\s+0\s+In progress\s+0/);
  });

  it("opens a webhook or its latest failed delivery in one click, and charts the webhook's own deliveries", async () => {
    const failingRow = states.filter({ hasText: 'fraud-scoring' });
    await failingRow.getByRole('link', { name: 'Latest failed delivery' }).click();
    await page.getByRole('heading', { name: 'Delivery', level: 1 }).waitFor();
    assert.match(page.url(), new RegExp(`#/deliveries/${hooks.failing}_`));
    await page.goBack();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await states.filter({ hasText: 'fraud-scoring' }).getByRole('link', { name: 'fraud-scoring' }).click();
    await page.getByRole('heading', { name: /Webhook for/, level: 1 }).waitFor();
    assert.match(page.url(), new RegExp(`#/webhooks/${hooks.failing}$`));
    await page.getByRole('heading', { name: "This webhook's deliveries, last 24 hours" }).waitFor();
    await loaded();
    assert.deepEqual(await chartFigures("This webhook's deliveries, last 24 hours"), apiFigures(await summaryOf(ADMIN_TOKEN, hooks.failing)));
    await browser.screenshot('webhook-chart');
  });

  it("shows a scoped manager only its models' webhooks and figures, and no service panel", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(TEAM_MANAGER_TOKEN);
    await states.nth(2).waitFor();
    const texts = (await states.allInnerTexts()).join('\n');
    assert.equal(await states.count(), 3);
    for (const model of ['fraud-detector', 'fraud-scoring', 'churn-model']) assert.match(texts, new RegExp(model));
    assert.doesNotMatch(await page.locator('main').innerText(), /pricing|pricing is down/);
    assert.equal(await page.getByRole('region', { name: 'The service' }).count(), 0);
    const team = await summaryOf(TEAM_MANAGER_TOKEN);
    assert.deepEqual(await chartFigures('Deliveries, last 24 hours'), apiFigures(team));
    assert.match(await page.locator('ul.legend').innerText(), /Failed\s+4\s/);
    await browser.screenshot('overview-team-manager');
    assert.deepEqual(pageErrors, [], 'no refused call: the admins\' panel is not even asked for');
  });

  it('redelivers a failing webhook\'s failures since a time, and the overview then shows it healthy', async () => {
    failing.setBehaviour(answer(200, 'back'));
    const row = states.filter({ hasText: 'fraud-scoring' });
    await row.getByRole('button', { name: /Redeliver failed since/ }).click();
    const since = row.getByLabel('Redeliver failed since');
    assert.match(await since.inputValue(), /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, 'a day ago, in the viewer\'s zone');
    await browser.screenshot('overview-redeliver');
    await row.getByRole('button', { name: 'Redeliver', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'fraud-scoring: 3 failed or skipped deliveries queued for redelivery.' }).waitFor();
    await waitForDeliveries(runtime, hooks.failing, allSettled(spread.failing.length, 'SUCCEEDED'));
    for (let tries = 0; tries < 40 && !(await states.filter({ hasText: 'fraud-scoring' }).innerText()).startsWith('HEALTHY'); tries += 1) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(500);
    }
    assert.match(await states.filter({ hasText: 'fraud-scoring' }).innerText(), /^HEALTHY/);
    assert.deepEqual(pageErrors, []);
  });
});

/** WCAG contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (colour: string) => {
    const [r = 0, g = 0, bl = 0] = (colour.match(/\d+/g) ?? []).map(Number).map((value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (high + 0.05) / (low + 0.05);
}

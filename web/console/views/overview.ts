import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, callApi, listDeliveries, listWebhooks, readHealth, signedInAsAdmin, type Delivery, type Health, type ServiceStatus, type Webhook } from '../api.js';
import { ErrorNote, targetText, Time } from '../format.js';
import { link } from '../router.js';
import { DeliveryChartPanel } from './delivery-chart.js';

/** Webhooks the overview reads at most (a page of the list), and health calls it keeps in flight. */
const OVERVIEW_WEBHOOKS = 200;
const HEALTH_CALLS = 4;
const DAY_MS = 86_400_000;

interface Row {
  webhook: Webhook;
  health?: Health;
  /** The newest FAILED delivery of a failing webhook, one click away. */
  lastFailed?: Delivery;
  error?: unknown;
}

const RANK: Record<string, number> = { SERVICE_DISABLED: 0, FAILING: 1 };
const rankOf = (row: Row): number => (row.error ? 2 : (RANK[row.health?.status ?? ''] ?? 3));

async function loadRows(): Promise<{ rows: Row[]; more: boolean }> {
  const { webhooks, next } = await listWebhooks({ max_results: OVERVIEW_WEBHOOKS });
  const rows: Row[] = webhooks.map((webhook) => ({ webhook }));
  let index = 0;
  const work = async () => {
    for (let row = rows[index++]; row; row = rows[index++]) {
      try {
        row.health = await readHealth(row.webhook.id);
        if (row.health.status === 'FAILING') row.lastFailed = (await listDeliveries({ webhook_id: row.webhook.id, status: 'FAILED', max_results: 1 })).deliveries[0];
      } catch (failure) {
        row.error = failure;
      }
    }
  };
  await Promise.all(Array.from({ length: HEALTH_CALLS }, work));
  // Service-disabled first, then failing (longest first), then the rest as listed.
  rows.sort((a, b) => rankOf(a) - rankOf(b) || (a.health?.failing_since_timestamp ?? 0) - (b.health?.failing_since_timestamp ?? 0));
  return { rows, more: next !== undefined };
}

const DISABLED_WHY: Record<string, string> = {
  auto_disable: 'its endpoint kept failing for too long',
  gone: 'its endpoint answered 410 Gone',
};

/** The landing page: what needs attention first, the last 24 hours as a chart, and (for admins) the service's own state. */
export function Overview(): VNode {
  const [loaded, setLoaded] = useState<{ rows: Row[]; more: boolean } | undefined>();
  const [error, setError] = useState<unknown>();
  const [refreshed, setRefreshed] = useState(0);
  const [notice, setNotice] = useState<string | undefined>();
  useEffect(() => {
    let current = true;
    setError(undefined);
    loadRows().then(
      (answer) => current && setLoaded(answer),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [refreshed]);

  const rows = loaded?.rows ?? [];
  const attention = rows.filter((row) => rankOf(row) < 2).length;
  return html`
    <h1 tabindex="-1">Overview</h1>
    <div class="toolbar">
      <p class="status-line" role="status">
        ${loaded === undefined ? '' : attention === 0 ? html`<span class="ok">Nothing needs attention.</span>` : html`<span class="bad">${attention} of ${rows.length} webhooks need attention.</span>`}
      </p>
      <button type="button" class="secondary" onClick=${() => setRefreshed(refreshed + 1)}>Refresh</button>
    </div>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <section class="panel" aria-labelledby="attention-heading">
      <h2 id="attention-heading">Webhooks, those that need attention first</h2>
      ${error instanceof ApiFailure && error.status === 403
        ? html`<p class="empty" role="status">Your role lists webhooks model by model: open <a href=${link(['webhooks'])}>Webhooks</a> and enter a model name.</p>`
        : html`<${ErrorNote} error=${error} />`}
      ${loaded === undefined && !error ? html`<p class="loading" role="status">Loading webhooks and their health…</p>` : null}
      ${loaded && rows.length === 0 ? html`<p class="empty" role="status">No webhooks yet. <a href=${link(['webhooks', 'new'])}>Create a webhook</a></p>` : null}
      ${rows.length > 0
        ? html`<ul class="attention" aria-label="Webhooks by state">
            ${rows.map((row) => html`<${WebhookState} key=${row.webhook.id} row=${row} onRedelivered=${(message: string) => { setNotice(message); setRefreshed(refreshed + 1); }} />`)}
          </ul>`
        : null}
      ${loaded?.more ? html`<p class="hint">Only the first ${OVERVIEW_WEBHOOKS} webhooks are shown; <a href=${link(['webhooks'])}>Webhooks</a> lists them all.</p>` : null}
    </section>
    <${DeliveryChartPanel} refreshed=${refreshed} />
    <${ServicePanel} refreshed=${refreshed} />
  `;
}

function WebhookState({ row, onRedelivered }: { row: Row; onRedelivered: (message: string) => void }): VNode {
  const { webhook, health } = row;
  const state = row.error ? 'unknown' : health?.status === 'SERVICE_DISABLED' ? 'disabled' : health?.status === 'FAILING' ? 'failing' : 'healthy';
  const name = webhook.model_name ?? 'registry-wide';
  let detail: VNode;
  if (row.error) detail = html`<${ErrorNote} error=${row.error} />`;
  else if (state === 'disabled') {
    detail = html`<span>Disabled by the service since <${Time} ms=${health?.auto_disabled_timestamp} />: ${DISABLED_WHY[health?.auto_disabled_reason ?? ''] ?? 'it kept failing'}. Its events are recorded as SKIPPED.</span>`;
  } else if (state === 'failing') {
    detail = html`<span>Failing since <${Time} ms=${health?.failing_since_timestamp} />, ${health?.consecutive_failures ?? 0} failures in a row.</span>
      ${row.lastFailed ? html` <a href=${link(['deliveries', row.lastFailed.id])}>Latest failed delivery</a>` : null}`;
  } else if (health?.status === 'NO_ATTEMPTS') detail = html`<span class="muted">No deliveries yet.</span>`;
  else detail = html`<span>Healthy: the last delivery succeeded${health?.last_success_timestamp !== undefined ? html` (<${Time} ms=${health.last_success_timestamp} />)` : null}.</span>`;
  return html`<li class=${`state state-${state}`}>
    <span class=${`badge badge-${state === 'disabled' ? 'service-disabled' : state}`}>${state === 'disabled' ? 'SERVICE DISABLED' : state.toUpperCase()}</span>
    <div class="what">
      <a href=${link(['webhooks', webhook.id])}>${webhook.model_name ? name : html`<em>${name}</em>`}</a>${' '}
      <span class="muted small target">${targetText(webhook)}</span>
      <div>${detail}</div>
      ${state === 'failing' && webhook.status === 'ACTIVE' ? html`<${RedeliverSince} webhook=${webhook} since=${health?.failing_since_timestamp} onDone=${onRedelivered} />` : null}
    </div>
  </li>`;
}

/** `datetime-local` text of a time, in the viewer's zone. */
function localInput(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 16);
}

/** "Redeliver failed since…": the webhook's FAILED and SKIPPED deliveries since a time, sent again. */
function RedeliverSince({ webhook, since, onDone }: { webhook: Webhook; since: number | undefined; onDone: (message: string) => void }): VNode {
  const [open, setOpen] = useState(false);
  // Event time: the failing run's first attempt may be long after the events it failed to deliver.
  const [value, setValue] = useState(localInput(Math.min(since ?? Date.now(), Date.now() - DAY_MS)));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const inputId = `redeliver-since-${webhook.id}`;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await callApi<{ delivery_ids: string[]; next_until_timestamp?: number }>('POST', 'deliveries/redeliver', {
        body: { webhook_id: webhook.id, since_timestamp: new Date(value).getTime() },
      });
      const count = answer.delivery_ids.length;
      const more = answer.next_until_timestamp !== undefined ? '; more remain: redeliver again to go on' : '';
      setOpen(false);
      onDone(`${webhook.model_name ?? 'registry-wide'}: ${count} failed or skipped ${count === 1 ? 'delivery' : 'deliveries'} queued for redelivery${more}.`);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="redeliver">
    ${open
      ? html`<form class="inline" onSubmit=${submit}>
          <div class="field">
            <label for=${inputId}>Redeliver failed since</label>
            <span class="hint" id=${`${inputId}-hint`}>Event time: every FAILED and SKIPPED delivery of events since then is sent again.</span>
            <input id=${inputId} type="datetime-local" required aria-describedby=${`${inputId}-hint`} value=${value} onInput=${(e: Event) => setValue((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <button type="submit" disabled=${busy}>${busy ? 'Queuing…' : 'Redeliver'}</button>
          <button type="button" class="secondary" onClick=${() => setOpen(false)}>Cancel</button>
        </form>`
      : html`<button type="button" class="secondary" aria-label=${`Redeliver failed since… (${webhook.model_name ?? 'registry-wide'})`} onClick=${() => setOpen(true)}>Redeliver failed since…</button>`}
    <${ErrorNote} error=${error} />
  </div>`;
}

const lagText = (ms: number): string => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 360_000) / 10} h`);

/** For admins only: other roles never call `service/status` (it would answer 403). */
function ServicePanel({ refreshed }: { refreshed: number }): VNode | null {
  const [status, setStatus] = useState<ServiceStatus | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    signedInAsAdmin()
      .then((admin) => (admin ? callApi<ServiceStatus>('GET', 'service/status').then(setStatus) : undefined))
      .catch((failure: unknown) => setError(failure));
  }, [refreshed]);
  if (error instanceof ApiFailure && (error.status === 403 || error.notAvailable)) return null;
  if (!status && !error) return null;
  return html`<section class="panel" aria-labelledby="service-heading">
    <h2 id="service-heading">The service</h2>
    <${ErrorNote} error=${error} />
    ${status
      ? html`<dl class="summary service">
          <dt>Unreadable webhooks</dt>
          <dd class=${status.unreadable_webhook_ids.length > 0 ? 'bad' : ''}>
            ${status.unreadable_webhook_ids.length === 0 ? 'None' : html`${status.unreadable_webhook_ids.length}: ${status.unreadable_webhook_ids.map((id) => html`<code>${id}</code> `)}`}
          </dd>
          ${status.event_queues.map(
            (queue) => html`<dt>Queue <code>${queue.name}</code></dt>
              <dd>${queue.depth} waiting${queue.oldest_waiting_lag_ms !== undefined ? html`; the oldest for <strong>${lagText(queue.oldest_waiting_lag_ms)}</strong>` : null}</dd>`,
          )}
          ${status.poison_queues.map(
            (queue) => html`<dt>Poison queue <code>${queue.name}</code></dt><dd class=${queue.depth > 0 ? 'bad' : ''}>${queue.depth} message${queue.depth === 1 ? '' : 's'}</dd>`,
          )}
          ${status.sources.map(
            (source) => html`<dt>Source ${source.name}</dt><dd>${source.configured ? 'configured' : html`<span class="muted">not configured</span>`}${source.queue ? html` (events through <code>${source.queue}</code>)` : null}</dd>`,
          )}
        </dl>`
      : null}
  </section>`;
}

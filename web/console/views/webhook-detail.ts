import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, callApi, DELIVERY_STATUSES, findWebhook, knownWebhooks, listDeliveries, readHealth, type Delivery, type Health, type Webhook } from '../api.js';
import { ErrorNote, Pager, StatusBadge, targetText, Time } from '../format.js';
import { go, link, type Route } from '../router.js';
import { DeliveryChartPanel } from './delivery-chart.js';

/** One webhook: what it is, test, edit, delete, its endpoint health and its deliveries. */
export function WebhookDetail({ id, route }: { id: string; route: Route }): VNode {
  const [webhook, setWebhook] = useState<Webhook | undefined>(knownWebhooks.get(id));
  const [error, setError] = useState<unknown>();
  // One Refresh for the health and the deliveries, so the two never tell different stories.
  const [refreshed, setRefreshed] = useState(0);

  useEffect(() => {
    if (webhook) return;
    findWebhook(id).then(
      (found) => (found ? setWebhook(found) : setError(new Error(`Webhook ${id} was not found, or your role may not see it.`))),
      (failure: unknown) => setError(failure),
    );
  }, [id]);

  if (!webhook) {
    return html`<h1 tabindex="-1">Webhook</h1>${error ? html`<${ErrorNote} error=${error} /><p><a href=${link(['webhooks'])}>Back to webhooks</a></p>` : html`<p class="loading" role="status">Loading…</p>`}`;
  }
  const saved = route.query.get('saved');
  return html`
    <p class="crumbs"><a href=${link(['webhooks'], { model_name: webhook.model_name })}>Webhooks</a> / ${webhook.model_name ?? 'registry-wide'}</p>
    <h1 tabindex="-1">Webhook ${webhook.model_name ? html`for <q>${webhook.model_name}</q>` : '(registry-wide)'}</h1>
    ${saved ? html`<p class="notice" role="status">Webhook ${saved}. Secrets and tokens are stored write-only and are not shown.</p>` : null}
    <section aria-labelledby="summary-heading" class="panel">
      <h2 id="summary-heading">Summary</h2>
      <dl class="summary">
        <dt>Id</dt><dd><code>${webhook.id}</code></dd>
        <dt>Status</dt><dd><${StatusBadge} status=${webhook.status} /></dd>
        <dt>Events</dt><dd>${webhook.events.join(', ')}</dd>
        <dt>Target</dt><dd class="target">${webhook.http_url_spec ? 'Endpoint ' : 'Databricks '}<code>${targetText(webhook)}</code>
          ${webhook.http_url_spec && webhook.http_url_spec.enable_ssl_verification === false ? html` <span class="muted">(TLS not verified)</span>` : null}</dd>
        ${webhook.description ? html`<dt>Description</dt><dd>${webhook.description}</dd>` : null}
        <dt>Created</dt><dd><${Time} ms=${webhook.creation_timestamp} /></dd>
        <dt>Updated</dt><dd><${Time} ms=${webhook.last_updated_timestamp} /></dd>
      </dl>
      <div class="actions">
        <a class="button" href=${link(['webhooks', webhook.id, 'edit'])}>Edit</a>
        <${DeleteButton} webhook=${webhook} />
      </div>
    </section>
    <${TestPanel} webhook=${webhook} />
    <${HealthPanel} id=${webhook.id} refreshed=${refreshed} />
    <${DeliveryChartPanel} webhookId=${webhook.id} refreshed=${refreshed} />
    <${DeliveriesPanel} id=${webhook.id} status=${route.query.get('status') ?? ''} refreshed=${refreshed} onRefresh=${() => setRefreshed(refreshed + 1)} />
  `;
}

function DeleteButton({ webhook }: { webhook: Webhook }): VNode {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await callApi('DELETE', 'delete', { query: { id: webhook.id } });
      knownWebhooks.delete(webhook.id);
      dialog.current?.close();
      go(link(['webhooks'], { model_name: webhook.model_name, deleted: '1' }));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <button type="button" class="danger" onClick=${() => dialog.current?.showModal()}>Delete…</button>
    <dialog ref=${dialog} aria-labelledby="delete-title" onClose=${() => setError(undefined)}>
      <h2 id="delete-title">Delete this webhook?</h2>
      <p>The webhook for <strong>${webhook.model_name ?? 'the whole registry'}</strong> to <code>${targetText(webhook)}</code> will stop receiving events. This cannot be undone.</p>
      <${ErrorNote} error=${error} />
      <div class="actions">
        <button type="button" class="secondary" autofocus onClick=${() => dialog.current?.close()}>Cancel</button>
        <button type="button" class="danger" disabled=${busy} onClick=${confirm}>Delete webhook</button>
      </div>
    </dialog>
  `;
}

function TestPanel({ webhook }: { webhook: Webhook }): VNode {
  const [event, setEvent] = useState(webhook.events[0] ?? '');
  const [result, setResult] = useState<{ status_code: number; body: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const send = async (submit: Event) => {
    submit.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await callApi<{ status_code: number; body: string }>('POST', 'test', { body: { id: webhook.id, event } }));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section aria-labelledby="test-heading" class="panel">
      <h2 id="test-heading">Test</h2>
      <form class="inline" onSubmit=${send}>
        <div class="field">
          <label for="test-event">Event to send</label>
          <select id="test-event" value=${event} onChange=${(e: Event) => setEvent((e.currentTarget as HTMLSelectElement).value)}>
            ${webhook.events.map((name) => html`<option value=${name}>${name}</option>`)}
          </select>
        </div>
        <button type="submit" disabled=${busy}>${busy ? 'Sending…' : 'Send test event'}</button>
      </form>
      <p class="hint">Sends a mock event, signed like a real one, whatever the webhook's status; it is not recorded as a delivery.</p>
      <div aria-live="polite">
        <${ErrorNote} error=${error} />
        ${result
          ? html`<div class="test-result">
              <p>The target answered <strong class=${result.status_code >= 200 && result.status_code < 300 ? 'ok' : 'bad'}>HTTP ${result.status_code}</strong>.</p>
              ${result.body === '' ? html`<p class="muted">(empty body)</p>` : html`<pre class="body" aria-label="Response body">${result.body}</pre>`}
            </div>`
          : null}
      </div>
    </section>
  `;
}

function HealthPanel({ id, refreshed }: { id: string; refreshed: number }): VNode {
  const [health, setHealth] = useState<Health | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    readHealth(id).then(
      (answer) => setHealth(answer),
      (failure: unknown) => setError(failure),
    );
  }, [id, refreshed]);
  let body: VNode;
  if (error instanceof ApiFailure && error.notAvailable) {
    body = html`<p class="unavailable" role="status">Endpoint health is not available on this server (it has no <code>webhooks/health</code> call).</p>`;
  } else if (error) {
    body = html`<${ErrorNote} error=${error} />`;
  } else if (!health) {
    body = html`<p class="loading" role="status">Loading…</p>`;
  } else {
    const failing = health.failing_since_timestamp !== undefined;
    const rate = health.success_rate_24h;
    const disabled = health.auto_disabled_timestamp;
    body = html`
      ${disabled === undefined
        ? null
        : html`<p class="bad" role="status">
            Disabled by the service on <${Time} ms=${disabled} />: events meanwhile are recorded as SKIPPED. Set it ACTIVE, then redeliver since
            a time to send them.
          </p>`}
      <p class=${failing ? 'bad' : 'ok'}>
        ${failing
          ? html`Failing since <${Time} ms=${health.failing_since_timestamp} />, ${health.consecutive_failures ?? 0} failures in a row.`
          : health.deliveries_24h === 0 && health.last_success_timestamp === undefined
            ? 'No deliveries yet.'
            : 'Healthy: the last delivery succeeded.'}
      </p>
      <dl class="summary">
        <dt>Last success</dt><dd><${Time} ms=${health.last_success_timestamp} /></dd>
        <dt>Last failure</dt><dd><${Time} ms=${health.last_failure_timestamp} /></dd>
        <dt>Consecutive failures</dt><dd>${health.consecutive_failures ?? 0}</dd>
        <dt>Deliveries (24 h)</dt><dd>${health.deliveries_24h ?? 0}</dd>
        <dt>Success rate (24 h)</dt><dd>${rate === undefined ? '—' : `${Math.round((rate <= 1 ? rate * 100 : rate) * 10) / 10}%`}</dd>
      </dl>`;
  }
  return html`<section aria-labelledby="health-heading" class="panel"><h2 id="health-heading">Endpoint health</h2>${body}</section>`;
}

function DeliveriesPanel({ id, status, refreshed, onRefresh }: { id: string; status: string; refreshed: number; onRefresh: () => void }): VNode {
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const [result, setResult] = useState<{ deliveries: Delivery[]; next?: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const token = pages[pages.length - 1];
  useEffect(() => setPages([undefined]), [status]);
  useEffect(() => {
    let current = true;
    setError(undefined);
    listDeliveries({ webhook_id: id, status, max_results: 25, page_token: token }).then(
      (answer) => current && setResult(answer),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [id, status, token, refreshed]);

  return html`
    <section aria-labelledby="deliveries-heading" class="panel">
      <h2 id="deliveries-heading">Deliveries</h2>
      <div class="toolbar">
        <div class="field">
          <label for="delivery-status">Status</label>
          <select id="delivery-status" value=${status}
            onChange=${(e: Event) => go(link(['webhooks', id], { status: (e.currentTarget as HTMLSelectElement).value }))}>
            <option value="">All statuses</option>
            ${DELIVERY_STATUSES.map((name) => html`<option value=${name}>${name}</option>`)}
          </select>
        </div>
        <button type="button" class="secondary" onClick=${onRefresh}>Refresh</button>
      </div>
      <${ErrorNote} error=${error} />
      ${result === undefined && !error ? html`<p class="loading" role="status">Loading deliveries…</p>` : null}
      ${result && result.deliveries.length === 0
        ? html`<p class="empty" role="status">${status ? `No ${status} deliveries.` : 'No deliveries yet: they appear here when a matching event is published.'}</p>`
        : null}
      ${result && result.deliveries.length > 0
        ? html`<table class="list" aria-label="Deliveries, newest first">
            <thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Next attempt</th></tr></thead>
            <tbody>
              ${result.deliveries.map(
                (delivery) => html`<tr key=${delivery.id}>
                  <td><a href=${link(['deliveries', delivery.id])}><${Time} ms=${delivery.created_timestamp} /></a></td>
                  <td>${delivery.event}<div class="muted small">${delivery.event_id}</div></td>
                  <td><${StatusBadge} status=${delivery.status} /></td>
                  <td>${typeof delivery.attempts === 'number' ? delivery.attempts : delivery.attempts.length}</td>
                  <td>${delivery.last_status_code !== undefined ? `HTTP ${delivery.last_status_code}` : ''}${delivery.last_error ? html`<div class="muted small">${delivery.last_error}</div>` : null}</td>
                  <td>${delivery.next_attempt_timestamp !== undefined && (delivery.status === 'PENDING' || delivery.status === 'RETRYING') ? html`<${Time} ms=${delivery.next_attempt_timestamp} />` : html`<span class="muted">—</span>`}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : null}
      <${Pager} label="Pages of deliveries" pages=${pages} next=${result?.next} onChange=${setPages} />
    </section>
  `;
}

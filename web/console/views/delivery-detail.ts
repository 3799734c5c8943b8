import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, callApi, listDeliveries, webhookIdOfDelivery, type Attempt, type Delivery } from '../api.js';
import { ErrorNote, prettyJson, StatusBadge, Time } from '../format.js';
import { link } from '../router.js';

const numberIn = (attempt: Attempt, ...keys: string[]): number | undefined => {
  for (const key of keys) if (typeof attempt[key] === 'number') return attempt[key];
  return undefined;
};
const textIn = (attempt: Attempt, ...keys: string[]): string | undefined => {
  for (const key of keys) if (typeof attempt[key] === 'string' && attempt[key] !== '') return attempt[key];
  return undefined;
};

/** A delivery as the list shows it, for a server without the detail call. Read afresh: it may have changed. */
async function summaryOf(id: string): Promise<Delivery | undefined> {
  let token: string | undefined;
  for (let page = 0; page < 10; page += 1) {
    const { deliveries, next } = await listDeliveries({ webhook_id: webhookIdOfDelivery(id), max_results: 1000, page_token: token });
    const found = deliveries.find((delivery) => delivery.id === id);
    if (found || !next) return found;
    token = next;
  }
  return undefined;
}

/** One delivery: its attempts, the exact payload sent, and a redeliver button. */
export function DeliveryDetail({ id }: { id: string }): VNode {
  const [delivery, setDelivery] = useState<Delivery | undefined>();
  const [detailMissing, setDetailMissing] = useState(false);
  const [error, setError] = useState<unknown>();
  const [reload, setReload] = useState(0);
  const [redelivery, setRedelivery] = useState<{ busy: boolean; done?: boolean; error?: unknown }>({ busy: false });

  useEffect(() => {
    let current = true;
    setError(undefined);
    callApi<Delivery | { delivery: Delivery }>('GET', 'deliveries/get', { query: { id } })
      .then((answer) => ('delivery' in answer ? answer.delivery : answer))
      .catch(async (failure: unknown) => {
        if (!(failure instanceof ApiFailure && failure.notAvailable)) throw failure;
        if (current) setDetailMissing(true);
        const summary = await summaryOf(id);
        if (!summary) throw new Error(`Delivery ${id} was not found.`);
        return summary;
      })
      .then(
        (found) => current && setDelivery(found),
        (failure: unknown) => current && setError(failure),
      );
    return () => {
      current = false;
    };
  }, [id, reload]);

  const redeliver = async () => {
    setRedelivery({ busy: true });
    try {
      await callApi('POST', 'deliveries/redeliver', { body: { delivery_id: id } });
      setRedelivery({ busy: false, done: true });
      setReload(reload + 1);
    } catch (failure) {
      setRedelivery({ busy: false, error: failure });
    }
  };

  const webhookId = webhookIdOfDelivery(id);
  const attempts = delivery && Array.isArray(delivery.attempts) ? delivery.attempts : undefined;
  return html`
    <p class="crumbs"><a href=${link(['webhooks', webhookId])}>Webhook</a> / delivery</p>
    <h1 tabindex="-1">Delivery</h1>
    <${ErrorNote} error=${error} />
    ${!delivery && !error ? html`<p class="loading" role="status">Loading…</p>` : null}
    ${delivery
      ? html`
        <section class="panel" aria-labelledby="delivery-heading">
          <h2 id="delivery-heading">${delivery.event} <${StatusBadge} status=${delivery.status} /></h2>
          <dl class="summary">
            <dt>Delivery id (<code>webhook-id</code> header)</dt><dd><code>${delivery.id}</code></dd>
            <dt>Event id</dt><dd><code>${delivery.event_id}</code></dd>
            <dt>Created</dt><dd><${Time} ms=${delivery.created_timestamp} /></dd>
            <dt>Attempts</dt><dd>${delivery.attempt_count ?? (attempts ? attempts.length : delivery.attempts)}</dd>
            <dt>Last attempt</dt><dd><${Time} ms=${delivery.last_attempt_timestamp} /></dd>
            <dt>Last answer</dt><dd>${delivery.last_status_code !== undefined ? `HTTP ${delivery.last_status_code}` : '—'}${delivery.last_error ? ` · ${delivery.last_error}` : ''}</dd>
            ${delivery.status === 'PENDING' || delivery.status === 'RETRYING' ? html`<dt>Next attempt</dt><dd><${Time} ms=${delivery.next_attempt_timestamp} /></dd>` : null}
          </dl>
          <div class="actions">
            <button type="button" disabled=${redelivery.busy} onClick=${redeliver}>${redelivery.busy ? 'Redelivering…' : 'Redeliver'}</button>
            <button type="button" class="secondary" onClick=${() => setReload(reload + 1)}>Refresh</button>
          </div>
          <div aria-live="polite">
            ${redelivery.done ? html`<p class="notice">Queued for redelivery with the same <code>webhook-id</code>; refresh to see the outcome.</p>` : null}
            <${ErrorNote} error=${redelivery.error} />
          </div>
        </section>
        <section class="panel" aria-labelledby="attempts-heading">
          <h2 id="attempts-heading">Attempts</h2>
          ${detailMissing
            ? html`<p class="unavailable" role="status">Attempt details and the payload are not available on this server (it has no <code>deliveries/get</code> call); the counts above come from the delivery list.</p>`
            : attempts && attempts.length > 0
              ? html`<table class="list" aria-label="Attempts">
                  <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Duration</th><th scope="col">Answer</th><th scope="col">Response body (first 1 KiB)</th></tr></thead>
                  <tbody>
                    ${attempts.map((attempt, index) => {
                      const code = numberIn(attempt, 'status_code', 'last_status_code');
                      const duration = numberIn(attempt, 'duration_ms', 'duration');
                      const body = textIn(attempt, 'response_snippet', 'response_body', 'body', 'response');
                      const failure = textIn(attempt, 'error', 'last_error');
                      return html`<tr>
                        <td>${numberIn(attempt, 'attempt') ?? index + 1}</td>
                        <td><${Time} ms=${numberIn(attempt, 'timestamp', 'started_timestamp', 'attempt_timestamp', 'time')} /></td>
                        <td>${duration === undefined ? '—' : `${duration} ms`}</td>
                        <td>${code !== undefined ? html`<span class=${code >= 200 && code < 300 ? 'ok' : 'bad'}>HTTP ${code}</span>` : null}${failure ? html`<div class="small bad">${failure}</div>` : null}</td>
                        <td>${body ? html`<pre class="body">${body}</pre>` : html`<span class="muted">—</span>`}</td>
                      </tr>`;
                    })}
                  </tbody>
                </table>`
              : html`<p class="empty">No attempts yet.</p>`}
        </section>
        ${detailMissing
          ? null
          : html`<section class="panel" aria-labelledby="payload-heading">
              <h2 id="payload-heading">Payload</h2>
              ${delivery.payload === undefined ? html`<p class="muted">No payload recorded.</p>` : html`<pre class="body payload" aria-label="Payload">${prettyJson(delivery.payload)}</pre>`}
            </section>`}
      `
      : null}
  `;
}

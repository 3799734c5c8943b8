import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { EVENT_NAMES } from '../../../src/webhooks/events.js';
import { ApiFailure, listWebhooks, type Webhook } from '../api.js';
import { ErrorNote, Pager, StatusBadge, targetText, Time } from '../format.js';
import { go, link, type Route } from '../router.js';

const DEFAULT_PAGE_SIZE = 25;

/** Webhooks, by model: a filter on model and event, and pages of the API's size. Keyed by the query, so a new filter starts at page 1. */
export function WebhookList({ route }: { route: Route }): VNode {
  const model = route.query.get('model_name') ?? '';
  const event = route.query.get('event') ?? '';
  const size = Number(route.query.get('size') ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
  // Tokens of the pages before this one, so Previous works although the API pages forward only.
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const [result, setResult] = useState<{ webhooks: Webhook[]; next?: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const [draft, setDraft] = useState({ model, event });
  const token = pages[pages.length - 1];

  useEffect(() => {
    let current = true;
    setResult(undefined);
    setError(undefined);
    listWebhooks({ model_name: model, events: event, max_results: size, page_token: token }).then(
      (answer) => current && setResult(answer),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [model, event, size, token]);

  const filtered = model !== '' || event !== '';
  const apply = (submit: Event) => {
    submit.preventDefault();
    go(link(['webhooks'], { model_name: draft.model, event: draft.event, size: route.query.get('size') ?? undefined }));
  };

  return html`
    <h1 tabindex="-1">Webhooks</h1>
    <form class="filter" role="search" aria-label="Filter webhooks" onSubmit=${apply}>
      <div class="field">
        <label for="filter-model">Model name</label>
        <input id="filter-model" name="model_name" value=${draft.model} placeholder="all models"
          onInput=${(e: Event) => setDraft({ ...draft, model: (e.currentTarget as HTMLInputElement).value })} />
      </div>
      <div class="field">
        <label for="filter-event">Event</label>
        <select id="filter-event" name="event" value=${draft.event}
          onChange=${(e: Event) => setDraft({ ...draft, event: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="">Any event</option>
          ${EVENT_NAMES.map((name) => html`<option value=${name}>${name}</option>`)}
        </select>
      </div>
      <div class="actions">
        <button type="submit">Filter</button>
        ${filtered ? html`<a class="button secondary" href=${link(['webhooks'])}>Clear filter</a>` : null}
      </div>
    </form>
    ${route.query.get('deleted') ? html`<p class="notice" role="status">Webhook deleted.</p>` : null}
    <p class="hint">A list without a model name shows every webhook your role may see: for a manager, those of a model; for an admin, also the registry-wide ones.</p>
    ${error instanceof ApiFailure && error.status === 403 && model === ''
      ? html`<div class="empty" role="status">
          <p>Your role lists webhooks model by model: enter a model name above.</p>
          <p class="small">The service said: ${error.message}</p>
        </div>`
      : html`<${ErrorNote} error=${error} />`}
    ${result === undefined && error === undefined ? html`<p class="loading" role="status">Loading webhooks…</p>` : null}
    ${result && result.webhooks.length === 0
      ? html`<div class="empty" role="status">
          ${filtered
            ? html`<p>No webhooks match this filter.</p>`
            : pages.length > 1
              ? html`<p>No more webhooks.</p>`
              : html`<p>No webhooks yet.</p><p><a class="button" href=${link(['webhooks', 'new'])}>Create a webhook</a></p>`}
        </div>`
      : null}
    ${result && result.webhooks.length > 0
      ? html`<table class="list" aria-label="Webhooks">
          <thead><tr><th scope="col">Model</th><th scope="col">Events</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Updated</th></tr></thead>
          <tbody>
            ${result.webhooks.map(
              (webhook) => html`<tr key=${webhook.id}>
                <td><a href=${link(['webhooks', webhook.id])}>${webhook.model_name ?? html`<em>registry-wide</em>`}</a>
                  ${webhook.description ? html`<div class="muted small">${webhook.description}</div>` : null}</td>
                <td class="events">${webhook.events.join(', ')}</td>
                <td class="target">${targetText(webhook)}</td>
                <td><${StatusBadge} status=${webhook.status} /></td>
                <td><${Time} ms=${webhook.last_updated_timestamp} /></td>
              </tr>`,
            )}
          </tbody>
        </table>`
      : null}
    <${Pager} label="Pages of webhooks" pages=${pages} next=${result?.next} onChange=${setPages} />
  `;
}

import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { EVENT_NAMES } from '../../../src/webhooks/events.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../../../src/webhooks/webhook.js';
import { ApiFailure, callApi, fieldOfMessage, findWebhook, knownWebhooks, STATUSES, type Webhook } from '../api.js';
import { ErrorNote } from '../format.js';
import { go, link } from '../router.js';

type Kind = 'http' | 'job';

interface Draft {
  model_name: string;
  events: string[];
  description: string;
  status: string;
  kind: Kind;
  url: string;
  secret: string;
  clearSecret: boolean;
  authorization: string;
  clearAuthorization: boolean;
  enable_ssl_verification: boolean;
  format: PayloadFormat;
  /** As typed; empty is no limit. */
  rate: string;
  job_id: string;
  access_token: string;
  workspace_url: string;
}

const emptyDraft = (): Draft => ({
  model_name: '',
  events: [],
  description: '',
  status: 'ACTIVE',
  kind: 'http',
  url: '',
  secret: '',
  clearSecret: false,
  authorization: '',
  clearAuthorization: false,
  enable_ssl_verification: true,
  format: 'databricks',
  rate: '',
  job_id: '',
  access_token: '',
  workspace_url: '',
});

const draftOf = (webhook: Webhook): Draft => ({
  ...emptyDraft(),
  model_name: webhook.model_name ?? '',
  events: webhook.events,
  description: webhook.description ?? '',
  status: webhook.status,
  kind: webhook.job_spec ? 'job' : 'http',
  url: webhook.http_url_spec?.url ?? '',
  enable_ssl_verification: webhook.http_url_spec?.enable_ssl_verification ?? true,
  format: (webhook.http_url_spec?.format as PayloadFormat | undefined) ?? 'databricks',
  rate: webhook.http_url_spec?.max_requests_per_second?.toString() ?? '',
  job_id: webhook.job_spec?.job_id ?? '',
  workspace_url: webhook.job_spec?.workspace_url ?? '',
});

/**
 * The body the API is sent. Write-only fields are sent only when typed (an update then keeps the stored
 * value), or as "" when the user asks to remove them.
 */
function bodyOf(draft: Draft, existing: Webhook | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = existing ? { id: existing.id } : {};
  if (!existing && draft.model_name !== '') body.model_name = draft.model_name;
  body.events = draft.events;
  if (draft.description !== '' || existing?.description) body.description = draft.description;
  body.status = draft.status;
  if (draft.kind === 'http') {
    body.http_url_spec = {
      url: draft.url,
      enable_ssl_verification: draft.enable_ssl_verification,
      ...(draft.clearSecret ? { secret: '' } : draft.secret !== '' ? { secret: draft.secret } : {}),
      ...(draft.clearAuthorization ? { authorization: '' } : draft.authorization !== '' ? { authorization: draft.authorization } : {}),
      ...(draft.format !== 'databricks' || existing?.http_url_spec?.format ? { format: draft.format } : {}),
      ...(draft.rate.trim() !== '' ? { max_requests_per_second: Number(draft.rate) } : existing?.http_url_spec?.max_requests_per_second ? { max_requests_per_second: 0 } : {}),
    };
  } else {
    body.job_spec = {
      job_id: draft.job_id,
      ...(draft.access_token !== '' ? { access_token: draft.access_token } : {}),
      ...(draft.workspace_url !== '' ? { workspace_url: draft.workspace_url } : {}),
    };
  }
  return body;
}

/** Which form field shows an API message: its field path, or the spec it belongs to, else the form itself. */
function placeOf(failure: ApiFailure, kind: Kind): string {
  const field = fieldOfMessage(failure.message);
  if (field === undefined) return 'form';
  if (FIELD_IDS[field]) return field;
  if (field === 'http_url_spec' || field === 'job_spec') return kind === 'http' ? 'http_url_spec.url' : 'job_spec.job_id';
  return 'form';
}

/** What each format is for, and the URL it needs (docs/routing.md). */
const FORMATS: Record<PayloadFormat, { label: string; hint: string }> = {
  databricks: { label: 'Databricks JSON (default)', hint: 'The payload as Databricks sends it.' },
  slack: { label: 'Slack message', hint: "A Slack incoming webhook's URL (https://hooks.slack.com/services/…). Slack takes about one message a second: set a rate limit of 1." },
  teams: { label: 'Teams message (Adaptive Card)', hint: 'The URL of a Teams Workflows "when a webhook request is received" flow.' },
  github_dispatch: { label: 'GitHub Actions (repository_dispatch)', hint: 'https://api.github.com/repos/<owner>/<repo>/dispatches, with a token as the Authorization header.' },
  azure_devops_pipeline: { label: 'Azure DevOps pipeline run', hint: 'https://dev.azure.com/<org>/<project>/_apis/pipelines/<id>/runs?api-version=7.1; the pipeline takes the payload in its event_message parameter.' },
  cloudevents: { label: 'CloudEvents (structured JSON)', hint: 'For event routers: application/cloudevents+json, the delivery id as the event id.' },
};

const FIELD_IDS: Record<string, string> = {
  model_name: 'wh-model',
  events: 'wh-events',
  description: 'wh-description',
  status: 'wh-status',
  'http_url_spec.url': 'wh-url',
  'http_url_spec.secret': 'wh-secret',
  'http_url_spec.authorization': 'wh-authorization',
  'http_url_spec.enable_ssl_verification': 'wh-ssl',
  'http_url_spec.format': 'wh-format',
  'http_url_spec.max_requests_per_second': 'wh-rate',
  'job_spec.job_id': 'wh-job-id',
  'job_spec.access_token': 'wh-access-token',
  'job_spec.workspace_url': 'wh-workspace',
};

/** Create, or edit an existing webhook (`id`), for either target kind. The API's validation message shows beside its field. */
export function WebhookForm({ id }: { id?: string }): VNode {
  const [existing, setExisting] = useState<Webhook | undefined>(id ? knownWebhooks.get(id) : undefined);
  const [loadError, setLoadError] = useState<unknown>();
  const [draft, setDraft] = useState<Draft>(() => (existing ? draftOf(existing) : emptyDraft()));
  const [failure, setFailure] = useState<{ place: string; message: string; code: string } | undefined>();
  const [saving, setSaving] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (!id || existing) return;
    findWebhook(id).then(
      (found) => {
        if (!found) setLoadError(new Error(`Webhook ${id} was not found, or your role may not see it.`));
        else {
          setExisting(found);
          setDraft(draftOf(found));
        }
      },
      (error: unknown) => setLoadError(error),
    );
  }, [id]);

  useEffect(() => {
    if (!failure) return;
    const target = failure.place === 'form' ? null : document.getElementById(FIELD_IDS[failure.place] ?? '');
    (target?.matches('fieldset') ? target.querySelector<HTMLElement>('input') : target)?.focus();
  }, [failure]);

  if (id && !existing) {
    return html`<h1 tabindex="-1">Edit webhook</h1>${loadError ? html`<${ErrorNote} error=${loadError} />` : html`<p class="loading" role="status">Loading…</p>`}`;
  }

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft({ ...draft, [key]: value });
  const text = (key: keyof Draft) => (e: Event) => set(key, (e.currentTarget as HTMLInputElement).value as never);
  const errorFor = (field: string) => (failure?.place === field ? failure.message : undefined);
  const described = (field: string) => {
    const message = errorFor(field);
    return message ? { 'aria-invalid': 'true', 'aria-describedby': `${FIELD_IDS[field] ?? field}-error` } : {};
  };
  const fieldError = (field: string) => {
    const message = errorFor(field);
    return message ? html`<p class="field-error" id=${`${FIELD_IDS[field] ?? field}-error`}>${message}</p>` : null;
  };

  const save = async (submit: Event) => {
    submit.preventDefault();
    setSaving(true);
    setFailure(undefined);
    try {
      const answer = await callApi<{ webhook: Webhook }>(existing ? 'PATCH' : 'POST', existing ? 'update' : 'create', { body: bodyOf(draft, existing) });
      knownWebhooks.set(answer.webhook.id, answer.webhook);
      // Nothing secret stays on the page: the form goes, and the API never returns write-only fields.
      setDraft(emptyDraft());
      go(link(['webhooks', answer.webhook.id], { saved: existing ? 'updated' : 'created' }));
    } catch (error) {
      if (error instanceof ApiFailure) setFailure({ place: placeOf(error, draft.kind), message: error.message, code: error.code });
      else setFailure({ place: 'form', message: String(error), code: '' });
    } finally {
      setSaving(false);
    }
  };

  const toggleEvent = (name: string) => set('events', draft.events.includes(name) ? draft.events.filter((event) => event !== name) : [...draft.events, name]);
  const title = existing ? `Edit webhook ${existing.model_name ? `for ${existing.model_name}` : '(registry-wide)'}` : 'New webhook';

  return html`
    <h1 tabindex="-1">${title}</h1>
    <form ref=${formRef} class="webhook-form" onSubmit=${save} noValidate>
      ${failure?.place === 'form' ? html`<${ErrorNote} error=${{ code: failure.code, message: failure.message }} />` : null}
      <div class="field">
        <label for="wh-model">Model name</label>
        <input id="wh-model" name="model_name" value=${draft.model_name} disabled=${existing !== undefined}
          aria-describedby="wh-model-hint" ...${described('model_name')} onInput=${text('model_name')} />
        <p class="hint" id="wh-model-hint">${existing ? 'The model cannot change; create a new webhook for another model.' : 'Leave empty for a registry-wide webhook (admins only).'}</p>
        ${fieldError('model_name')}
      </div>
      <fieldset id="wh-events" class="field events" ...${described('events')}>
        <legend>Events</legend>
        ${EVENT_NAMES.map(
          (name) => html`<label class="check"><input type="checkbox" name="events" value=${name} checked=${draft.events.includes(name)} onChange=${() => toggleEvent(name)} /> ${name}</label>`,
        )}
        ${fieldError('events')}
      </fieldset>
      <div class="field">
        <label for="wh-description">Description</label>
        <textarea id="wh-description" name="description" rows="2" ...${described('description')} value=${draft.description} onInput=${text('description')}></textarea>
        ${fieldError('description')}
      </div>
      <div class="field">
        <label for="wh-status">Status</label>
        <select id="wh-status" name="status" value=${draft.status} ...${described('status')} onChange=${text('status')}>
          ${STATUSES.map((status) => html`<option value=${status}>${status}</option>`)}
        </select>
        <p class="hint">TEST_MODE webhooks get only test calls; DISABLED ones get nothing.</p>
        ${fieldError('status')}
      </div>
      <fieldset class="field kind">
        <legend>Target</legend>
        <label class="check"><input type="radio" name="kind" value="http" checked=${draft.kind === 'http'} onChange=${() => set('kind', 'http')} /> HTTPS endpoint</label>
        <label class="check"><input type="radio" name="kind" value="job" checked=${draft.kind === 'job'} onChange=${() => set('kind', 'job')} /> Databricks job</label>
      </fieldset>
      ${draft.kind === 'http'
        ? html`<div class="target">
            <div class="field">
              <label for="wh-url">URL</label>
              <input id="wh-url" name="url" type="url" value=${draft.url} placeholder="https://example.com/hooks/registry" ...${described('http_url_spec.url')} onInput=${text('url')} />
              ${fieldError('http_url_spec.url')}
            </div>
            <div class="field">
              <label for="wh-format">Payload format</label>
              <select id="wh-format" name="format" value=${draft.format} aria-describedby="wh-format-hint" ...${described('http_url_spec.format')} onChange=${text('format')}>
                ${PAYLOAD_FORMATS.map((format) => html`<option value=${format}>${FORMATS[format].label}</option>`)}
              </select>
              <p class="hint" id="wh-format-hint">${FORMATS[draft.format].hint}</p>
              ${fieldError('http_url_spec.format')}
            </div>
            <div class="field">
              <label for="wh-rate">Max requests per second</label>
              <input id="wh-rate" name="max_requests_per_second" inputmode="numeric" value=${draft.rate} placeholder="no limit"
                aria-describedby="wh-rate-hint" ...${described('http_url_spec.max_requests_per_second')} onInput=${text('rate')} />
              <p class="hint" id="wh-rate-hint">Events above this rate wait for their turn instead of failing.</p>
              ${fieldError('http_url_spec.max_requests_per_second')}
            </div>
            <div class="field">
              <label for="wh-secret">Signing secret</label>
              <input id="wh-secret" name="secret" type="password" autocomplete="off" value=${draft.secret} disabled=${draft.clearSecret}
                placeholder=${existing ? 'unchanged' : 'optional'} ...${described('http_url_spec.secret')} onInput=${text('secret')} />
              ${existing ? html`<label class="check"><input type="checkbox" checked=${draft.clearSecret} onChange=${() => set('clearSecret', !draft.clearSecret)} /> Remove the stored secret</label>` : null}
              <p class="hint">Write-only: it is never shown again.${existing ? ' Leave empty to keep the stored one.' : ''}</p>
              ${fieldError('http_url_spec.secret')}
            </div>
            <div class="field">
              <label for="wh-authorization">Authorization header</label>
              <input id="wh-authorization" name="authorization" type="password" autocomplete="off" value=${draft.authorization} disabled=${draft.clearAuthorization}
                placeholder=${existing ? 'unchanged' : 'optional, e.g. Bearer …'} ...${described('http_url_spec.authorization')} onInput=${text('authorization')} />
              ${existing ? html`<label class="check"><input type="checkbox" checked=${draft.clearAuthorization} onChange=${() => set('clearAuthorization', !draft.clearAuthorization)} /> Remove the stored header</label>` : null}
              <p class="hint">Write-only. Moving the URL to another origin needs it again.</p>
              ${fieldError('http_url_spec.authorization')}
            </div>
            <div class="field">
              <label class="check"><input id="wh-ssl" type="checkbox" name="enable_ssl_verification" checked=${draft.enable_ssl_verification}
                ...${described('http_url_spec.enable_ssl_verification')} onChange=${() => set('enable_ssl_verification', !draft.enable_ssl_verification)} /> Verify the endpoint's TLS certificate</label>
              ${fieldError('http_url_spec.enable_ssl_verification')}
            </div>
          </div>`
        : html`<div class="target">
            <div class="field">
              <label for="wh-job-id">Job id</label>
              <input id="wh-job-id" name="job_id" inputmode="numeric" value=${draft.job_id} ...${described('job_spec.job_id')} onInput=${text('job_id')} />
              ${fieldError('job_spec.job_id')}
            </div>
            <div class="field">
              <label for="wh-access-token">Access token</label>
              <input id="wh-access-token" name="access_token" type="password" autocomplete="off" value=${draft.access_token}
                placeholder=${existing?.job_spec ? 'unchanged' : 'required'} ...${described('job_spec.access_token')} onInput=${text('access_token')} />
              <p class="hint">Write-only: it is never shown again.${existing?.job_spec ? ' Leave empty to keep the stored one.' : ''}</p>
              ${fieldError('job_spec.access_token')}
            </div>
            <div class="field">
              <label for="wh-workspace">Workspace URL</label>
              <input id="wh-workspace" name="workspace_url" type="url" value=${draft.workspace_url} placeholder="the service's default workspace"
                ...${described('job_spec.workspace_url')} onInput=${text('workspace_url')} />
              ${fieldError('job_spec.workspace_url')}
            </div>
          </div>`}
      <div class="actions">
        <button type="submit" disabled=${saving}>${saving ? 'Saving…' : existing ? 'Save changes' : 'Create webhook'}</button>
        <a class="button secondary" href=${existing ? link(['webhooks', existing.id]) : link(['webhooks'])}>Cancel</a>
      </div>
    </form>
  `;
}

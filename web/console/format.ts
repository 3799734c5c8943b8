import { html } from 'htm/preact';
import type { VNode } from 'preact';

// The viewer's own locale and time zone, with the zone named, so times are never ambiguous.
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

export function Time({ ms }: { ms: number | undefined }): VNode {
  if (ms === undefined || !Number.isFinite(ms)) return html`<span class="muted">—</span>`;
  const date = new Date(ms);
  return html`<time datetime=${date.toISOString()} title=${date.toISOString()}>${dateTime.format(date)}</time>`;
}

export function StatusBadge({ status }: { status: string }): VNode {
  return html`<span class=${`badge badge-${status.toLowerCase()}`}>${status}</span>`;
}

/** An error from the API, with its code, as an alert that screen readers announce. */
export function ErrorNote({ error }: { error: unknown }): VNode | null {
  if (error === undefined || error === null) return null;
  const code = typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const message =
    typeof error === 'object' && 'message' in error && typeof error.message === 'string' ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  return html`<p class="error" role="alert">${code ? html`<strong>${code}</strong>: ` : ''}${message}</p>`;
}

/** A JSON text pretty-printed when it parses, else as it is. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

export function targetText(webhook: { http_url_spec?: { url: string }; job_spec?: { job_id: string; workspace_url?: string } }): string {
  if (webhook.http_url_spec) return webhook.http_url_spec.url;
  if (webhook.job_spec) return `job ${webhook.job_spec.job_id}${webhook.job_spec.workspace_url ? ` on ${webhook.job_spec.workspace_url}` : ' (default workspace)'}`;
  return '—';
}

/**
 * Previous and Next over the API's forward-only page tokens: `pages` holds the token of each page read so far
 * (undefined for the first), so Previous goes back without the API's help.
 */
export function Pager({ label, pages, next, onChange }: { label: string; pages: (string | undefined)[]; next: string | undefined; onChange: (pages: (string | undefined)[]) => void }): VNode {
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" class="secondary" disabled=${pages.length <= 1} onClick=${() => onChange(pages.slice(0, -1))}>Previous page</button>
    <span aria-live="polite">Page ${pages.length}</span>
    <button type="button" class="secondary" disabled=${!next} onClick=${() => next && onChange([...pages, next])}>Next page</button>
  </nav>`;
}

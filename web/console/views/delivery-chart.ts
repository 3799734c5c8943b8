import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, summarizeDeliveries, type DeliverySummary, type HourSummary } from '../api.js';
import { ErrorNote } from '../format.js';

type Counted = Exclude<keyof HourSummary, 'start_timestamp'>;

/** Bottom to top; each series' colour is a CSS variable, set for the light and the dark theme. */
const SERIES: { key: Counted; label: string }[] = [
  { key: 'succeeded', label: 'Succeeded' },
  { key: 'failed', label: 'Failed' },
  { key: 'skipped', label: 'Skipped' },
  { key: 'in_progress', label: 'In progress' },
];

const WIDTH = 760;
const HEIGHT = 220;
const LEFT = 40;
const BOTTOM = 26;
const TOP = 10;

const hourLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const hourLong = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });

const totalOf = (hour: Omit<HourSummary, 'start_timestamp'>): number => SERIES.reduce((sum, { key }) => sum + hour[key], 0);

/** A round top for the axis: 1, 2 or 5 times a power of ten, at least the tallest bar. */
function axisTop(max: number): number {
  if (max <= 4) return Math.max(1, max);
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((step) => step * power).find((top) => top >= max) ?? max;
}

/** The summary as a stacked bar per hour, with its figures as a table for screen readers and for anyone who asks. */
export function DeliveryChart({ summary, name }: { summary: DeliverySummary; name: string }): VNode {
  const hours = summary.hours;
  const top = axisTop(Math.max(0, ...hours.map(totalOf)));
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = (WIDTH - LEFT) / Math.max(1, hours.length);
  const y = (value: number) => TOP + plotHeight - (value / top) * plotHeight;
  const partial = (hour: HourSummary) => summary.exact_since_timestamp !== undefined && hour.start_timestamp < summary.exact_since_timestamp;
  const totals = summary.totals;
  const description = `${name}, per hour: ${SERIES.map(({ key, label }) => `${totals[key]} ${label.toLowerCase()}`).join(', ')} in ${hours.length} hours.`;
  const labelEvery = Math.max(1, Math.ceil(hours.length / 8));
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label=${description} preserveAspectRatio="xMidYMid meet">
      ${[0, top / 2, top].map(
        (tick) => html`<g class="tick">
          <line x1=${LEFT} x2=${WIDTH} y1=${y(tick)} y2=${y(tick)} />
          <text x=${LEFT - 6} y=${y(tick) + 4} text-anchor="end">${Number.isInteger(tick) ? tick : ''}</text>
        </g>`,
      )}
      ${hours.map((hour, index) => {
        let base = 0;
        const x = LEFT + index * slot + slot * 0.15;
        return html`<g class=${partial(hour) ? 'bar partial' : 'bar'} data-hour=${hour.start_timestamp}>
          <title>${hourLong.format(hour.start_timestamp)}: ${SERIES.map(({ key, label }) => `${label} ${hour[key]}`).join(', ')}${partial(hour) ? ' (counted in part)' : ''}</title>
          ${SERIES.map(({ key }) => {
            const value = hour[key];
            if (value === 0) return null;
            const rect = html`<rect class=${`series-${key}`} x=${x} width=${slot * 0.7} y=${y(base + value)} height=${y(base) - y(base + value)} />`;
            base += value;
            return rect;
          })}
          ${index % labelEvery === 0 ? html`<text class="hour" x=${x + slot * 0.35} y=${HEIGHT - 8} text-anchor="middle">${hourLabel.format(hour.start_timestamp)}</text>` : null}
        </g>`;
      })}
    </svg>
    <figcaption>
      <ul class="legend">
        ${SERIES.map(({ key, label }) => html`<li><span class=${`swatch series-${key}`} aria-hidden="true"></span>${label} <strong>${totals[key]}</strong></li>`)}
      </ul>
      ${summary.exact_since_timestamp !== undefined
        ? html`<p class="hint">The service read as many records as one summary may; hours before ${hourLong.format(summary.exact_since_timestamp)} show at least the figures given.</p>`
        : null}
      ${summary.webhooks_not_counted ? html`<p class="hint">${summary.webhooks_not_counted} more webhooks had deliveries; a summary counts ${summary.webhook_count} at most.</p>` : null}
    </figcaption>
    <details class="figures">
      <summary>${name} as a table</summary>
      <table class="list" aria-label=${`${name}, figures`}>
        <thead><tr><th scope="col">Hour starting</th>${SERIES.map(({ label }) => html`<th scope="col">${label}</th>`)}<th scope="col">Total</th></tr></thead>
        <tbody>
          ${hours.map(
            (hour) => html`<tr data-hour=${hour.start_timestamp}>
              <th scope="row">${hourLong.format(hour.start_timestamp)}</th>
              ${SERIES.map(({ key }) => html`<td>${partial(hour) ? '≥' : ''}${hour[key]}</td>`)}
              <td>${totalOf(hour)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </details>
  </figure>`;
}

/** A panel with the last 24 hours' chart of one webhook (`webhookId`) or of everything the viewer may read. */
export function DeliveryChartPanel({ webhookId, refreshed = 0 }: { webhookId?: string; refreshed?: number }): VNode {
  const [summary, setSummary] = useState<DeliverySummary | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    summarizeDeliveries({ hours: 24, webhook_id: webhookId }).then(
      (answer) => current && setSummary(answer),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [webhookId, refreshed]);
  const name = webhookId ? "This webhook's deliveries, last 24 hours" : 'Deliveries, last 24 hours';
  let body: VNode;
  if (error instanceof ApiFailure && error.notAvailable) body = html`<p class="unavailable" role="status">This server has no <code>deliveries/summary</code> call.</p>`;
  else if (error) body = html`<${ErrorNote} error=${error} />`;
  else if (!summary) body = html`<p class="loading" role="status">Loading the chart…</p>`;
  else {
    body = html`${totalOf(summary.totals) === 0 ? html`<p class="muted" role="status">No deliveries in the last 24 hours.</p>` : null}
      <${DeliveryChart} summary=${summary} name=${name} />`;
  }
  return html`<section class="panel" aria-labelledby=${`chart-heading-${webhookId ?? 'all'}`}>
    <h2 id=${`chart-heading-${webhookId ?? 'all'}`}>${name}</h2>
    <p class="hint">By the hour of the event, each delivery in its current status.</p>
    ${body}
  </section>`;
}

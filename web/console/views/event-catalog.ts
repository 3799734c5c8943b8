import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { EVENT_NAMES } from '../../../src/webhooks/events.js';
import { ErrorNote, prettyJson } from '../format.js';

/** The parts of a served event schema (`/api/schemas/events/<EVENT>.json`) the catalog shows. */
interface EventSchema {
  description?: string;
  required?: string[];
  properties?: Record<string, unknown>;
  examples?: unknown[];
}

const schemaUrl = (kind: 'events' | 'publish', event: string): string => `/api/schemas/${kind}/${event}.json`;

async function loadSchema(event: string): Promise<EventSchema> {
  const response = await fetch(schemaUrl('events', event), { cache: 'no-store' });
  if (!response.ok) throw new Error(`${schemaUrl('events', event)} answered ${response.status}`);
  return (await response.json()) as EventSchema;
}

/**
 * Every event a webhook can subscribe to, with the fields its payload carries and an example payload, read from
 * the service's own event schemas (public, like this page), so the catalog is always the running version's.
 */
export function EventCatalog(): VNode {
  const [schemas, setSchemas] = useState<Record<string, EventSchema> | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    Promise.all(EVENT_NAMES.map(async (event) => [event, await loadSchema(event)] as const)).then(
      (loaded) => current && setSchemas(Object.fromEntries(loaded)),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, []);

  return html`
    <h1 tabindex="-1">Events</h1>
    <p class="hint">What a webhook receives for each event, with an example. Receivers may validate payloads against these JSON Schemas; the whole API is described by <a href="/api/openapi.json">the OpenAPI document</a>.</p>
    <${ErrorNote} error=${error} />
    ${schemas === undefined && error === undefined ? html`<p class="loading" role="status">Loading the event catalog…</p>` : null}
    ${schemas
      ? EVENT_NAMES.map((event) => {
          const schema = schemas[event] ?? {};
          const optional = Object.keys(schema.properties ?? {}).filter((field) => !(schema.required ?? []).includes(field));
          return html`<section class="event" key=${event} aria-labelledby=${`event-${event}`}>
            <h2 id=${`event-${event}`}>${event}</h2>
            ${schema.description ? html`<p>${schema.description}</p>` : null}
            <p class="small">Always: <code>${(schema.required ?? []).join(', ')}</code>${optional.length > 0 ? html`; when set: <code>${optional.join(', ')}</code>` : null}</p>
            <pre class="body payload" aria-label=${`Example ${event} payload`}>${prettyJson(schema.examples?.[0] ?? {})}</pre>
            <p class="small"><a href=${schemaUrl('events', event)}>Payload schema</a> · <a href=${schemaUrl('publish', event)}>Publish schema</a></p>
          </section>`;
        })
      : null}
  `;
}

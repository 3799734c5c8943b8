import type { PayloadFormat } from '../webhooks/webhook.js';
import { slackMessage, teamsMessage, type PayloadFields } from './chat-message.js';

/** What goes on the wire for one format: the body (signed as it is) and the headers that say what it is. */
export interface RenderedBody {
  body: string;
  headers: Record<string, string>;
}

/** GitHub refuses a `client_payload` with more top-level properties than this. */
export const GITHUB_MAX_CLIENT_PAYLOAD_PROPERTIES = 10;
const GITHUB_MAX_EVENT_TYPE_CHARS = 100;
const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * The payload within GitHub's limit: past it, the properties beyond the ninth travel together under `more`
 * (the Databricks payload has at most ten, so today this never happens).
 */
function withinGithubLimit(payload: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(payload);
  if (entries.length <= GITHUB_MAX_CLIENT_PAYLOAD_PROPERTIES) return payload;
  const kept = GITHUB_MAX_CLIENT_PAYLOAD_PROPERTIES - 1;
  return { ...Object.fromEntries(entries.slice(0, kept)), more: Object.fromEntries(entries.slice(kept)) };
}

/** `/registry-webhooks/models/<model>`, the model name percent-encoded so the source stays a URI reference. */
export const cloudEventSourceOf = (modelName: string): string => `/registry-webhooks/models/${encodeURIComponent(modelName)}`;

/**
 * The body of one attempt in the webhook's format, from the Databricks payload the delivery keeps and the message
 * (delivery) id: a pure function of the two, so every retry and redelivery sends the same bytes.
 */
export function renderBody(format: PayloadFormat | undefined, payload: string, messageId: string): RenderedBody {
  if (format === undefined || format === 'databricks') return { body: payload, headers: JSON_TYPE };
  const fields = JSON.parse(payload) as PayloadFields & Record<string, unknown> & { event_timestamp: number };
  switch (format) {
    case 'slack':
      return { body: JSON.stringify(slackMessage(fields)), headers: JSON_TYPE };
    case 'teams':
      return { body: JSON.stringify(teamsMessage(fields)), headers: JSON_TYPE };
    case 'github_dispatch':
      return {
        body: JSON.stringify({ event_type: fields.event.slice(0, GITHUB_MAX_EVENT_TYPE_CHARS), client_payload: withinGithubLimit(fields) }),
        headers: { ...JSON_TYPE, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
      };
    case 'azure_devops_pipeline':
      return { body: JSON.stringify({ templateParameters: { event_message: payload } }), headers: { ...JSON_TYPE, accept: 'application/json' } };
    case 'cloudevents':
      return {
        body: JSON.stringify({
          specversion: '1.0',
          type: `registry-webhooks.${fields.event}`,
          source: cloudEventSourceOf(fields.model_name),
          id: messageId,
          time: new Date(fields.event_timestamp).toISOString(),
          datacontenttype: 'application/json',
          data: fields,
        }),
        headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      };
  }
}

/** A 203 from Azure DevOps is its sign-in page (a missing or refused token), never a started run. */
export const isAzureDevOpsSignInPage = (format: PayloadFormat | undefined, status: number): boolean => format === 'azure_devops_pipeline' && status === 203;

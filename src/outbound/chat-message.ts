/** The Databricks payload's fields a chat message shows. */
export interface PayloadFields {
  event: string;
  model_name: string;
  text?: string;
  version?: string;
  to_stage?: string;
  from_stage?: string;
  alias?: string;
  previous_version?: string;
  comment?: string;
  /** A link to the model or version, when the event carries one. */
  url?: string;
}

/** Slack's section text holds 3000 characters, a field 2000; Teams' cards are kept to the same. */
const MAX_TEXT_CHARS = 3000;
const MAX_FIELD_CHARS = 2000;

const cut = (value: string, max: number): string => (value.length > max ? `${value.slice(0, max - 1)}…` : value);

/** `&`, `<` and `>` as Slack asks, so a model name cannot ping a channel or forge a link. */
const slackEscape = (value: string): string => value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
/**
 * The service writes `text` Slack-ready (escaped), but a publisher may send its own: its `<` and `>` are escaped too,
 * so it can neither ping (`<!channel>`) nor forge a link. Escaping only these leaves the service's `&amp;` as it is.
 */
const slackInert = (value: string): string => value.replaceAll('<', '&lt;').replaceAll('>', '&gt;');
/** The payload's `text` is written Slack-ready (escaped); a Teams card shows it plain. */
const slackUnescape = (value: string): string => value.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/**
 * Teams renders card text as markdown, where `[words](url)` is a link showing only the words: a zero-width space
 * between `]` and `(` leaves the text as it reads but no longer a link, so event text cannot disguise one.
 * (Backslash escapes render differently on Teams' desktop and mobile clients.)
 */
const teamsInert = (value: string): string => value.replaceAll('](', ']\u200B(');

const httpsLink = (value: string | undefined): string | undefined => (value !== undefined && /^https:\/\/[^\s<>|]+$/.test(value) ? value : undefined);

/** The facts every message lists: model, version, event, and the stage move or the alias. */
function factsOf(payload: PayloadFields): { title: string; value: string }[] {
  return [
    { title: 'Model', value: payload.model_name },
    ...(payload.version !== undefined ? [{ title: 'Version', value: payload.previous_version !== undefined ? `${payload.version} (was ${payload.previous_version})` : payload.version }] : []),
    { title: 'Event', value: payload.event },
    ...(payload.to_stage !== undefined ? [{ title: 'Stage', value: `${payload.from_stage ?? 'None'} → ${payload.to_stage}` }] : []),
    ...(payload.alias !== undefined ? [{ title: 'Alias', value: `@${payload.alias}` }] : []),
    ...(payload.comment !== undefined ? [{ title: 'Comment', value: payload.comment }] : []),
  ].map((fact) => ({ title: fact.title, value: cut(fact.value, MAX_FIELD_CHARS - 20) }));
}

const headlineOf = (payload: PayloadFields): string => payload.text ?? `${payload.event} for registered model '${slackEscape(payload.model_name)}'.`;

/** A Slack incoming-webhook message: `text` (the notification line) and blocks with the facts and the link. */
export function slackMessage(payload: PayloadFields): Record<string, unknown> {
  const headline = cut(slackInert(headlineOf(payload)), MAX_TEXT_CHARS);
  const link = httpsLink(payload.url);
  return {
    text: headline,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: headline } },
      { type: 'section', fields: factsOf(payload).map((fact) => ({ type: 'mrkdwn', text: `*${fact.title}*\n${slackEscape(fact.value)}` })) },
      ...(link ? [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the registry' }, url: link }] }] : []),
    ],
  };
}

/** A Teams Workflows ("When a Teams webhook request is received") message carrying one Adaptive Card. */
export function teamsMessage(payload: PayloadFields): Record<string, unknown> {
  const link = httpsLink(payload.url);
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: teamsInert(cut(slackUnescape(headlineOf(payload)), MAX_TEXT_CHARS)), wrap: true, weight: 'Bolder' },
            { type: 'FactSet', facts: factsOf(payload).map((fact) => ({ ...fact, value: teamsInert(fact.value) })) },
          ],
          ...(link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open in the registry', url: link }] } : {}),
        },
      },
    ],
  };
}

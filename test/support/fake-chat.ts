import type { ServerResponse } from 'node:http';
import { startReceiver, type ReceivedRequest, type Receiver } from './receiver.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const parse = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

/** A Block Kit text object: `plain_text` or `mrkdwn`, 1 to `max` characters. */
const isTextObject = (value: unknown, max: number): boolean =>
  isObject(value) && (value.type === 'plain_text' || value.type === 'mrkdwn') && typeof value.text === 'string' && value.text.length > 0 && value.text.length <= max;

/** Block Kit's rules for the blocks a message may carry (section, context, actions, header, divider). */
function blockProblem(block: unknown): string | undefined {
  if (!isObject(block)) return 'block is not an object';
  switch (block.type) {
    case 'section': {
      const fields = block.fields;
      if (block.text === undefined && fields === undefined) return 'section needs text or fields';
      if (block.text !== undefined && !isTextObject(block.text, 3000)) return 'section text must be a text object of at most 3000 characters';
      if (fields !== undefined && (!Array.isArray(fields) || fields.length === 0 || fields.length > 10 || !fields.every((field) => isTextObject(field, 2000)))) {
        return 'section fields must be 1 to 10 text objects of at most 2000 characters';
      }
      return undefined;
    }
    case 'actions': {
      const elements = block.elements;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) return 'actions need 1 to 25 elements';
      for (const element of elements) {
        if (!isObject(element) || element.type !== 'button') return 'only buttons are expected';
        if (!isObject(element.text) || element.text.type !== 'plain_text' || typeof element.text.text !== 'string' || element.text.text.length > 75) return 'button text must be plain_text of at most 75 characters';
        if (element.url !== undefined && (typeof element.url !== 'string' || element.url.length > 3000)) return 'button url must be a string of at most 3000 characters';
      }
      return undefined;
    }
    case 'context':
      return Array.isArray(block.elements) && block.elements.length > 0 && block.elements.length <= 10 ? undefined : 'context needs 1 to 10 elements';
    case 'header':
      return isObject(block.text) && block.text.type === 'plain_text' ? undefined : 'header text must be plain_text';
    case 'divider':
      return undefined;
    default:
      return `unknown block type ${String(block.type)}`;
  }
}

const slackError = (response: ServerResponse, status: number, error: string) => response.writeHead(status, { 'content-type': 'text/plain' }).end(error);

export interface FakeSlack extends Receiver {
  /** The messages Slack accepted (and would have posted). */
  posted: Record<string, unknown>[];
}

/**
 * A Slack incoming webhook (`POST /services/T…/B…/…`): JSON with `text` and optional Block Kit `blocks`; answers
 * `200 ok`, or the plain-text errors Slack's webhook endpoint answers (`invalid_payload`, `missing_text_or_fallback_or_attachments`,
 * `invalid_blocks`, `no_service`).
 */
export async function startFakeSlack(): Promise<FakeSlack> {
  const posted: Record<string, unknown>[] = [];
  const receiver = await startReceiver({
    behaviour: (request: ReceivedRequest, _n, response) => {
      if (request.method !== 'POST' || !/^\/services\/T\w+\/B\w+\/\w+$/.test(request.path)) return slackError(response, 404, 'no_service');
      const body = parse(request.body);
      if (!request.headers['content-type']?.startsWith('application/json') || !isObject(body)) return slackError(response, 400, 'invalid_payload');
      if (typeof body.text !== 'string' && body.blocks === undefined) return slackError(response, 400, 'missing_text_or_fallback_or_attachments');
      if (body.blocks !== undefined) {
        if (!Array.isArray(body.blocks) || body.blocks.length > 50) return slackError(response, 400, 'invalid_blocks');
        const problem = body.blocks.map(blockProblem).find((entry) => entry !== undefined);
        if (problem) return slackError(response, 400, 'invalid_blocks');
      }
      posted.push(body);
      response.writeHead(200, { 'content-type': 'text/html' }).end('ok');
    },
  });
  return Object.assign(receiver, { url: `${new URL(receiver.url).origin}/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX`, posted });
}

const CARD_ELEMENTS = new Set(['TextBlock', 'FactSet', 'ColumnSet', 'Container', 'Image', 'RichTextBlock', 'ActionSet']);

/** Why a Workflows webhook message would not post its card, if it would not. */
function teamsProblem(body: unknown): string | undefined {
  if (!isObject(body) || body.type !== 'message') return "'type' must be 'message'";
  if (!Array.isArray(body.attachments) || body.attachments.length === 0) return "'attachments' must list at least one card";
  for (const attachment of body.attachments) {
    if (!isObject(attachment) || attachment.contentType !== 'application/vnd.microsoft.card.adaptive') return "attachment 'contentType' must be application/vnd.microsoft.card.adaptive";
    const card = attachment.content;
    if (!isObject(card) || card.type !== 'AdaptiveCard' || typeof card.version !== 'string') return "attachment 'content' must be an AdaptiveCard with a version";
    if (!Array.isArray(card.body) || !card.body.every((element) => isObject(element) && CARD_ELEMENTS.has(String(element.type)))) return 'card body holds an unknown element';
    for (const element of card.body as Record<string, unknown>[]) {
      if (element.type === 'TextBlock' && typeof element.text !== 'string') return 'TextBlock needs text';
      if (element.type === 'FactSet' && !(Array.isArray(element.facts) && element.facts.every((fact) => isObject(fact) && typeof fact.title === 'string' && typeof fact.value === 'string'))) return 'FactSet facts need title and value';
    }
    if (card.actions !== undefined && !(Array.isArray(card.actions) && card.actions.every((action) => isObject(action) && action.type === 'Action.OpenUrl' && typeof action.url === 'string'))) return 'unexpected card action';
  }
  return undefined;
}

export interface FakeTeams extends Receiver {
  /** The cards the workflow accepted and would have posted. */
  cards: Record<string, unknown>[];
}

/**
 * A Teams Workflows webhook (the "When a Teams webhook request is received" trigger): `POST
 * /workflows/<id>/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig=…` with a message carrying Adaptive
 * Cards; answers 202, 401 for a wrong `sig`, 400 for a message it cannot post.
 */
export async function startFakeTeams(): Promise<FakeTeams> {
  const cards: Record<string, unknown>[] = [];
  const sig = 'fake-signature-0123456789';
  const receiver = await startReceiver({
    behaviour: (request, _n, response) => {
      const url = new URL(request.path, 'http://fake');
      const json = (status: number, code: string, message: string) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
      if (request.method !== 'POST' || !/^\/workflows\/[0-9a-f]+\/triggers\/manual\/paths\/invoke$/.test(url.pathname)) return json(404, 'TriggerNotFound', 'The workflow trigger was not found.');
      if (url.searchParams.get('sig') !== sig) return json(401, 'DirectApiInvalidAuthorizationSignature', 'The provided authorization signature is not valid.');
      const body = parse(request.body);
      const problem = teamsProblem(body);
      if (problem) return json(400, 'InvalidRequestContent', problem);
      const attachments = (body as { attachments: { content: Record<string, unknown> }[] }).attachments;
      cards.push(...attachments.map((attachment) => attachment.content));
      response.writeHead(202).end();
    },
  });
  const origin = new URL(receiver.url).origin;
  return Object.assign(receiver, { url: `${origin}/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`, cards });
}

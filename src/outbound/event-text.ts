import type { RegistryEvent } from '../webhooks/registry-event.js';

/**
 * Slack reads `&`, `<` and `>` as markup (`<!channel>` pings everyone), so the values put into `text` are
 * escaped the way Slack asks, and control characters become spaces so the sentence stays on one line.
 */
const slackSafe = (value: string): string =>
  value
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');

/** The one-line, Slack-ready sentence of the seed doc's style. */
export function eventText(event: RegistryEvent): string {
  const model = `registered model '${slackSafe(event.modelName)}'`;
  const version = `version ${slackSafe(event.version ?? '')}`;
  const who = event.userId !== undefined ? slackSafe(event.userId) : undefined;
  const stages = `from ${event.fromStage ?? 'None'} to ${event.toStage ?? 'None'}`;
  switch (event.event) {
    case 'MODEL_VERSION_CREATED':
      return who ? `${who} created ${version} of ${model}.` : `A new ${version} of ${model} was created.`;
    case 'MODEL_VERSION_TRANSITIONED_STAGE':
      return who ? `${who} transitioned ${model} ${version} ${stages}.` : `Registered model '${slackSafe(event.modelName)}' ${version} transitioned ${stages}.`;
    case 'TRANSITION_REQUEST_CREATED':
      return `${who ?? 'A user'} requested a transition of ${model} ${version} ${stages}.`;
    case 'COMMENT_CREATED':
      return `${who ?? 'A user'} commented on ${model} ${version}.`;
    case 'REGISTERED_MODEL_CREATED':
      return who ? `${who} created ${model}.` : `A new ${model} was created.`;
    case 'MODEL_VERSION_TAG_SET': {
      const tags = (event.tags ?? []).map((tag) => `'${slackSafe(tag.key)}' => '${slackSafe(tag.value)}'`).join(', ');
      return `${who ?? 'A user'} set version tag(s) ${tags} for ${model} ${version}.`;
    }
    default:
      return `${event.event} for ${model}.`;
  }
}

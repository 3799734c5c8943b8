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

const capitalize = (words: string): string => `${words.charAt(0).toUpperCase()}${words.slice(1)}`;

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
      const tags = (event.tags ?? []).map((tag) => `'${slackSafe(tag.key)}' => '${slackSafe(tag.value ?? '')}'`).join(', ');
      return `${who ?? 'A user'} set version tag(s) ${tags} for ${model} ${version}.`;
    }
    case 'MODEL_VERSION_TAG_DELETED': {
      const keys = (event.tags ?? []).map((tag) => `'${slackSafe(tag.key)}'`);
      const tags = `${keys.length === 1 ? 'tag' : 'tags'} ${keys.join(', ')}`;
      return who ? `${who} removed ${tags} from ${version} of ${model}.` : `${capitalize(tags)} ${keys.length === 1 ? 'was' : 'were'} removed from ${version} of ${model}.`;
    }
    case 'MODEL_VERSION_ALIAS_CREATED': {
      const alias = `alias '${slackSafe(event.alias ?? '')}'`;
      const previous = event.previousVersion !== undefined ? `version ${slackSafe(event.previousVersion)}` : undefined;
      if (who) return previous ? `${who} moved ${alias} of ${model} from ${previous} to ${version}.` : `${who} set ${alias} of ${model} to ${version}.`;
      return previous ? `${capitalize(alias)} of ${model} moved from ${previous} to ${version}.` : `${capitalize(alias)} of ${model} was set to ${version}.`;
    }
    case 'MODEL_VERSION_ALIAS_DELETED': {
      const alias = `alias '${slackSafe(event.alias ?? '')}'`;
      const from = event.version !== undefined ? `${version} of ${model}` : model;
      return who ? `${who} removed ${alias} from ${from}.` : `${capitalize(alias)} was removed from ${from}.`;
    }
    default:
      return `${event.event} for ${model}.`;
  }
}

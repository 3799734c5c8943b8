import { ConfigError } from '../shared/errors.js';
import { STAGES, type Stage } from '../webhooks/events.js';

export interface MlflowIngestConfig {
  /** Every secret a signature may be made with (several while one is being rotated). */
  secrets: string[];
  /** MLflow alias, lowercased, to the stage its `model_version_alias.created` is published as. */
  aliasStages: ReadonlyMap<string, Stage>;
}

/** An alias-to-stage list, `alias:Stage,...` (MLFLOW_ALIAS_STAGES); aliases are matched lowercased. */
export function parseAliasStages(raw: string, setting: string): Map<string, Stage> {
  const map = new Map<string, Stage>();
  for (const entry of raw.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const colon = entry.lastIndexOf(':');
    const alias = entry.slice(0, colon).trim().toLowerCase();
    const stage = STAGES.find((candidate) => candidate.toLowerCase() === entry.slice(colon + 1).trim().toLowerCase());
    if (colon < 1 || alias === '' || stage === undefined) {
      throw new ConfigError(`${setting}: each entry is alias:stage with stage one of ${STAGES.join(', ')} (got '${entry}')`);
    }
    map.set(alias, stage);
  }
  return map;
}

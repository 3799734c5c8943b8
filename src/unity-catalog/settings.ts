import { Cron } from 'croner';
import { parseTargetUrl, type TargetPolicy } from '../webhooks/target-policy.js';
import { errorMessage } from '../shared/errors.js';

/** The Unity Catalog source's settings: read on their own, so a bad one turns off only this source. */
export const UNITY_CATALOG_SETTINGS = {
  workspaceUrl: 'UNITY_CATALOG_WORKSPACE_URL',
  models: 'UNITY_CATALOG_MODELS',
  clientId: 'UNITY_CATALOG_CLIENT_ID',
  clientSecret: 'UNITY_CATALOG_CLIENT_SECRET',
  token: 'UNITY_CATALOG_TOKEN',
  /** Read by the host itself, as the poller's `%UNITY_CATALOG_POLL_SCHEDULE%` expression. */
  pollSchedule: 'UNITY_CATALOG_POLL_SCHEDULE',
  requestBudget: 'UNITY_CATALOG_REQUEST_BUDGET',
  emitBaseline: 'UNITY_CATALOG_EMIT_BASELINE',
} as const;

/** Every 30 seconds (NCRONTAB: second minute hour day month weekday). */
export const DEFAULT_UNITY_CATALOG_POLL_SCHEDULE = '*/30 * * * * *';
export const DEFAULT_UNITY_CATALOG_REQUEST_BUDGET = 500;
/** A run needs room for a listing and a model (its read and its versions). */
const MIN_REQUEST_BUDGET = 10;
const MAX_REQUEST_BUDGET = 100_000;

/** The Azure Databricks first-party application: the resource an Entra token for Databricks is asked for. */
export const AZURE_DATABRICKS_RESOURCE = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d';

/** One entry of `UNITY_CATALOG_MODELS`: one model, or every model of a schema. */
export type ModelSelector = { catalog: string; schema: string; model: string } | { catalog: string; schema: string; model: '*' };

export type UnityCatalogCredential =
  | { kind: 'oauth'; clientId: string; clientSecret: string }
  | { kind: 'token'; token: string }
  | { kind: 'managed-identity' };

export interface UnityCatalogSettings {
  workspaceUrl: string;
  models: ModelSelector[];
  credential: UnityCatalogCredential;
  requestBudget: number;
  emitBaseline: boolean;
}

/** Off (no workspace), on, or turned off by a bad setting, which is named (never its value). */
export type UnityCatalogSource = { kind: 'off' } | { kind: 'on'; settings: UnityCatalogSettings } | { kind: 'invalid'; setting: string; problem: string };

type Env = Record<string, string | undefined>;

const value = (env: Env, name: string): string | undefined => {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
};

class SettingProblem extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
  }
}

const UNRESOLVED_REFERENCE = /^@Microsoft\.(KeyVault|AppConfiguration)\(/i;
const IDENTIFIER = /^[^\s.`*]{1,255}$/;

export const selectorText = (selector: ModelSelector): string => `${selector.catalog}.${selector.schema}.${selector.model}`;

/** `catalog.schema.model` or `catalog.schema.*`, comma-separated. */
export function parseModelSelectors(raw: string): ModelSelector[] {
  const name = UNITY_CATALOG_SETTINGS.models;
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new SettingProblem(name, `${name} must list at least one catalog.schema.model (the model part may be *)`);
  const selectors = entries.map((entry) => {
    const parts = entry.split('.');
    const [catalog = '', schema = '', model = ''] = parts;
    if (parts.length !== 3 || !IDENTIFIER.test(catalog) || !IDENTIFIER.test(schema) || (model !== '*' && !IDENTIFIER.test(model))) {
      throw new SettingProblem(name, `${name}: '${entry}' is not catalog.schema.model or catalog.schema.* (names without spaces, dots or backticks)`);
    }
    return { catalog, schema, model };
  });
  return [...new Map(selectors.map((selector) => [selectorText(selector), selector])).values()];
}

function parseCredential(env: Env): UnityCatalogCredential {
  const { clientId: idName, clientSecret: secretName, token: tokenName } = UNITY_CATALOG_SETTINGS;
  const clientId = value(env, idName);
  const clientSecret = value(env, secretName);
  const token = value(env, tokenName);
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new SettingProblem(clientId === undefined ? idName : secretName, `${idName} and ${secretName} must be set together (a Databricks OAuth service principal)`);
  }
  if (token !== undefined && clientId !== undefined) throw new SettingProblem(tokenName, `set either ${tokenName} or ${idName} with ${secretName}, not both`);
  if (clientId !== undefined && clientSecret !== undefined) return { kind: 'oauth', clientId, clientSecret };
  if (token !== undefined) return { kind: 'token', token };
  return { kind: 'managed-identity' };
}

function parseBudget(env: Env): number {
  const name = UNITY_CATALOG_SETTINGS.requestBudget;
  const raw = value(env, name);
  if (raw === undefined) return DEFAULT_UNITY_CATALOG_REQUEST_BUDGET;
  const budget = Number(raw);
  if (!/^\d+$/.test(raw) || budget < MIN_REQUEST_BUDGET || budget > MAX_REQUEST_BUDGET) throw new SettingProblem(name, `${name} must be a whole number from ${MIN_REQUEST_BUDGET} to ${MAX_REQUEST_BUDGET}`);
  return budget;
}

function parseFlag(env: Env, name: string): boolean {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new SettingProblem(name, `${name} must be true or false`);
}

/** The schedule as the host takes it: six NCRONTAB fields (the host refuses anything else and so does this). */
function checkSchedule(env: Env): void {
  const name = UNITY_CATALOG_SETTINGS.pollSchedule;
  const raw = value(env, name) ?? DEFAULT_UNITY_CATALOG_POLL_SCHEDULE;
  try {
    if (raw.split(/\s+/).length !== 6) throw new Error('six fields expected');
    new Cron(raw, { mode: '6-part', paused: true });
  } catch {
    throw new SettingProblem(name, `${name} must be a six-field NCRONTAB schedule such as ${DEFAULT_UNITY_CATALOG_POLL_SCHEDULE}`);
  }
}

/** Reads the source's settings; never throws. The workspace follows a job webhook's `workspace_url` rules. */
export function readUnityCatalogSource(env: Env, policy: TargetPolicy): UnityCatalogSource {
  const workspace = value(env, UNITY_CATALOG_SETTINGS.workspaceUrl);
  if (workspace === undefined) return { kind: 'off' };
  try {
    for (const name of Object.values(UNITY_CATALOG_SETTINGS)) {
      if (UNRESOLVED_REFERENCE.test(value(env, name) ?? '')) throw new SettingProblem(name, `${name} is an unresolved Key Vault reference: the app's identity could not read the secret`);
    }
    let url: URL;
    try {
      url = parseTargetUrl(workspace, UNITY_CATALOG_SETTINGS.workspaceUrl, policy);
    } catch (error) {
      throw new SettingProblem(UNITY_CATALOG_SETTINGS.workspaceUrl, errorMessage(error));
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      throw new SettingProblem(UNITY_CATALOG_SETTINGS.workspaceUrl, `${UNITY_CATALOG_SETTINGS.workspaceUrl} must be a workspace origin such as https://adb-1234567890123456.7.azuredatabricks.net`);
    }
    const modelsRaw = value(env, UNITY_CATALOG_SETTINGS.models);
    if (modelsRaw === undefined) throw new SettingProblem(UNITY_CATALOG_SETTINGS.models, `${UNITY_CATALOG_SETTINGS.models} must list the models to watch (catalog.schema.model, the model part may be *)`);
    checkSchedule(env);
    return {
      kind: 'on',
      settings: {
        workspaceUrl: url.origin,
        models: parseModelSelectors(modelsRaw),
        credential: parseCredential(env),
        requestBudget: parseBudget(env),
        emitBaseline: parseFlag(env, UNITY_CATALOG_SETTINGS.emitBaseline),
      },
    };
  } catch (error) {
    if (error instanceof SettingProblem) return { kind: 'invalid', setting: error.setting, problem: error.message };
    throw error;
  }
}

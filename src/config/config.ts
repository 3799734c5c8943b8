import { parseOidcGrants, type GrantSpec } from '../auth/grants.js';
import { parseAuthTokens, type StaticToken } from '../auth/static-tokens.js';
import { ConfigError } from '../shared/errors.js';
import { parseDuration } from './duration.js';
import { ENTRA_AUDIENCES_SETTING, type EntraAudience } from '../shared/entra-audiences.js';
import { parseEntraAudiences } from './entra-audiences.js';
import { parseAliasStages, type MlflowIngestConfig } from '../sources/mlflow-alias-stages.js';
import { readUnityCatalogSource, UNITY_CATALOG_SETTINGS, type UnityCatalogSource } from '../unity-catalog/settings.js';

/**
 * Every app setting the code reads. The infra consistency test checks that `infra/` sets each one, so a
 * setting added here and forgotten there fails CI.
 */
export const SETTINGS = {
  storage: 'AzureWebJobsStorage',
  secretKey: 'WEBHOOKS_SECRET_KEY',
  secretKeyPrevious: 'WEBHOOKS_SECRET_KEY_PREVIOUS',
  authTokens: 'WEBHOOKS_AUTH_TOKENS',
  oidcIssuer: 'WEBHOOKS_AUTH_OIDC_ISSUER',
  oidcAudience: 'WEBHOOKS_AUTH_OIDC_AUDIENCE',
  oidcGrants: 'WEBHOOKS_AUTH_OIDC_GRANTS',
  oidcGrantsClaim: 'WEBHOOKS_AUTH_OIDC_GRANTS_CLAIM',
  consoleClientId: 'WEBHOOKS_CONSOLE_CLIENT_ID',
  allowHttpTargets: 'WEBHOOKS_ALLOW_HTTP_TARGETS',
  allowPrivateTargets: 'WEBHOOKS_ALLOW_PRIVATE_TARGETS',
  retrySchedule: 'DELIVERY_RETRY_SCHEDULE',
  deliveryTimeout: 'DELIVERY_TIMEOUT',
  databricksWorkspaceUrl: 'DATABRICKS_WORKSPACE_URL',
  rateLimit: 'WEBHOOKS_RATE_LIMIT',
  /** Read by the host itself, as the retention timer's `%RETENTION_SCHEDULE%` expression. */
  retentionSchedule: 'RETENTION_SCHEDULE',
  deliveryRetention: 'DELIVERY_RETENTION',
  auditRetention: 'AUDIT_RETENTION',
  autoDisableAfter: 'WEBHOOKS_AUTO_DISABLE_AFTER',
  circuitCooldown: 'WEBHOOKS_CIRCUIT_COOLDOWN',
  mlflowWebhookSecrets: 'MLFLOW_WEBHOOK_SECRETS',
  mlflowAliasStages: 'MLFLOW_ALIAS_STAGES',
  /** The Entra audiences webhooks may ask a delivery token for (comma list); none when empty. */
  entraAudiences: ENTRA_AUDIENCES_SETTING,
  /** The client id of the delivery identity: a user-assigned identity holding no roles, never the app's own. */
  entraClientId: 'WEBHOOKS_ENTRA_CLIENT_ID',
} as const;

/** The identity-based forms of `AzureWebJobsStorage`, as the Functions host reads them. */
export const STORAGE_IDENTITY_SETTINGS = {
  accountName: `${SETTINGS.storage}__accountName`,
  queueServiceUri: `${SETTINGS.storage}__queueServiceUri`,
  tableServiceUri: `${SETTINGS.storage}__tableServiceUri`,
  credential: `${SETTINGS.storage}__credential`,
  clientId: `${SETTINGS.storage}__clientId`,
} as const;

/** The settings the app reads in Azure (identity-based storage); the infra consistency test holds `infra/` to this list. */
export const AZURE_APP_SETTINGS: readonly string[] = [
  ...Object.values(SETTINGS).filter((name) => name !== SETTINGS.storage),
  ...Object.values(UNITY_CATALOG_SETTINGS),
  STORAGE_IDENTITY_SETTINGS.queueServiceUri,
  STORAGE_IDENTITY_SETTINGS.tableServiceUri,
  STORAGE_IDENTITY_SETTINGS.credential,
  STORAGE_IDENTITY_SETTINGS.clientId,
  'AZURE_CLIENT_ID',
];

export const DEFAULT_RETRY_SCHEDULE = '0s,5s,5m,30m,2h,5h,10h,10h';
export const DEFAULT_DELIVERY_TIMEOUT = '15s';
export const DEFAULT_RATE_LIMIT = '1200/1m';
/** Hourly, on the hour (NCRONTAB: second minute hour day month weekday). */
export const DEFAULT_RETENTION_SCHEDULE = '0 0 * * * *';
export const DEFAULT_DELIVERY_RETENTION = '30d';
export const DEFAULT_AUDIT_RETENTION = '400d';
export const DEFAULT_AUTO_DISABLE_AFTER = '5d';
export const DEFAULT_CIRCUIT_COOLDOWN = '30s';
export const DEV_STORAGE = 'UseDevelopmentStorage=true';
export const DEFAULT_MLFLOW_ALIAS_STAGES = 'staging:Staging,production:Production,prod:Production,champion:Production,challenger:Staging,archived:Archived';


export const DEFAULT_OIDC_GRANTS_CLAIM = 'groups';

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** The claim whose values `grants` maps (`groups` by default). */
  grantsClaim: string;
  grants: { value: string; grant: GrantSpec }[];
}

export type StorageSettings =
  | { kind: 'connectionString'; connectionString: string }
  | {
      kind: 'identity';
      queueServiceUri: string;
      tableServiceUri: string;
      credential?: string;
      clientId?: string;
    };

export interface Config {
  storage: StorageSettings;
  secretKey: Buffer;
  previousSecretKey?: Buffer;
  authTokens: StaticToken[];
  oidc?: OidcSettings;
  /** Entra ID (OIDC) sign-in for the console: the app registration's client id, with the OIDC issuer as authority. */
  consoleSignIn?: ConsoleSignIn;
  allowHttpTargets: boolean;
  allowPrivateTargets: boolean;
  retryScheduleMs: number[];
  deliveryTimeoutMs: number;
  databricksWorkspaceUrl?: string;
  /** Requests per principal and instance: a burst of `capacity`, refilled over `windowMs`; capacity 0 is off. */
  rateLimit: { capacity: number; windowMs: number };
  /** Delivery records (attempts and payload) are kept this long after their event. */
  deliveryRetentionMs: number;
  auditRetentionMs: number;
  /** A webhook failing this long is disabled by the service; 0 turns it off. */
  autoDisableAfterMs: number;
  /** The first cool-down of an origin's open circuit (it doubles per failed probe, up to 10 min). */
  circuitCooldownMs: number;
  /** Entra tokens for webhooks (`azure_ad_audience`): the delivery identity, the audiences allowed and where each may go; absent: none. */
  entra?: EntraDeliveryConfig;
  /** The MLflow ingest endpoint; absent (the endpoint answers 404) until `MLFLOW_WEBHOOK_SECRETS` is set. */
  mlflow?: MlflowIngestConfig;
  /** The Unity Catalog source: its bad settings turn off only it, so they are never a ConfigError. */
  unityCatalog: UnityCatalogSource;
}

export interface EntraDeliveryConfig {
  clientId: string;
  audiences: EntraAudience[];
}

export interface ConsoleSignIn {
  clientId: string;
  authority: string;
  /** What the console asks for: the API's audience with `/.default`. */
  scopes: string[];
}

type Env = Record<string, string | undefined>;

const value = (env: Env, name: string): string | undefined => {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
};

/** A Key Vault or App Configuration reference the platform left unresolved (e.g. before its role assignment propagated). */
const UNRESOLVED_REFERENCE = /^@Microsoft\.(KeyVault|AppConfiguration)\(/i;

/** Fails on the first setting the app reads that holds an unresolved platform reference, naming it (never its value). */
export function checkResolvedReferences(env: Env, names: readonly string[]): void {
  for (const name of names) {
    const raw = value(env, name);
    if (raw !== undefined && UNRESOLVED_REFERENCE.test(raw)) {
      throw new ConfigError(
        `${name} is an unresolved Key Vault reference: the app's identity could not read the secret. Check the reference's ` +
          `status in the function app's Environment variables (Key Vault references), fix the access or the secret, then restart the app`,
        name,
      );
    }
  }
}

/** Reads every setting once, typed, and fails with a message that says how to fix it. */
export function loadConfig(env: Env = process.env): Config {
  checkResolvedReferences(env, [...Object.values(SETTINGS), ...Object.values(STORAGE_IDENTITY_SETTINGS)]);
  const oidcIssuer = value(env, SETTINGS.oidcIssuer);
  const oidcAudience = value(env, SETTINGS.oidcAudience);
  if ((oidcIssuer === undefined) !== (oidcAudience === undefined)) {
    throw new ConfigError(`${SETTINGS.oidcIssuer} and ${SETTINGS.oidcAudience} must be set together`, SETTINGS.oidcIssuer);
  }
  const oidcGrants = parseOidcGrants(value(env, SETTINGS.oidcGrants) ?? '', SETTINGS.oidcGrants);
  if (oidcGrants.length > 0 && oidcIssuer === undefined) {
    throw new ConfigError(`${SETTINGS.oidcGrants} is set, but OIDC is not: set ${SETTINGS.oidcIssuer} and ${SETTINGS.oidcAudience} too`, SETTINGS.oidcGrants);
  }
  const grantsClaim = value(env, SETTINGS.oidcGrantsClaim) ?? DEFAULT_OIDC_GRANTS_CLAIM;
  const consoleClientId = value(env, SETTINGS.consoleClientId);
  if (consoleClientId !== undefined && (oidcIssuer === undefined || oidcAudience === undefined)) {
    throw new ConfigError(`${SETTINGS.consoleClientId} needs ${SETTINGS.oidcIssuer} and ${SETTINGS.oidcAudience}: the console signs in with that issuer`, SETTINGS.consoleClientId);
  }
  const previous = value(env, SETTINGS.secretKeyPrevious);
  const workspace = value(env, SETTINGS.databricksWorkspaceUrl);
  const allowHttpTargets = parseBoolean(env, SETTINGS.allowHttpTargets);
  const allowPrivateTargets = parseBoolean(env, SETTINGS.allowPrivateTargets);
  return {
    storage: parseStorageSettings(env),
    secretKey: parseSecretKey(value(env, SETTINGS.secretKey), SETTINGS.secretKey),
    ...(previous ? { previousSecretKey: parseSecretKey(previous, SETTINGS.secretKeyPrevious) } : {}),
    authTokens: parseAuthTokens(value(env, SETTINGS.authTokens) ?? '', SETTINGS.authTokens),
    ...(oidcIssuer && oidcAudience ? { oidc: { issuer: oidcIssuer, audience: oidcAudience, grantsClaim, grants: oidcGrants } } : {}),
    ...(consoleClientId && oidcIssuer && oidcAudience
      ? { consoleSignIn: { clientId: consoleClientId, authority: parseAuthority(oidcIssuer), scopes: [`${oidcAudience.replace(/\/+$/, '')}/.default`] } }
      : {}),
    allowHttpTargets,
    allowPrivateTargets,
    retryScheduleMs: parseRetrySchedule(value(env, SETTINGS.retrySchedule) ?? DEFAULT_RETRY_SCHEDULE),
    deliveryTimeoutMs: parsePositiveDuration(env, SETTINGS.deliveryTimeout, DEFAULT_DELIVERY_TIMEOUT),
    ...(workspace ? { databricksWorkspaceUrl: parseWorkspaceSetting(workspace) } : {}),
    rateLimit: parseRateLimit(value(env, SETTINGS.rateLimit) ?? DEFAULT_RATE_LIMIT),
    deliveryRetentionMs: parseRetention(env, SETTINGS.deliveryRetention, DEFAULT_DELIVERY_RETENTION),
    auditRetentionMs: parseRetention(env, SETTINGS.auditRetention, DEFAULT_AUDIT_RETENTION),
    autoDisableAfterMs: parseDuration(value(env, SETTINGS.autoDisableAfter) === '0' ? '0s' : (value(env, SETTINGS.autoDisableAfter) ?? DEFAULT_AUTO_DISABLE_AFTER), SETTINGS.autoDisableAfter),
    circuitCooldownMs: parseCircuitCooldown(env),
    ...parseMlflowIngest(env),
    ...parseEntraDelivery(env),
    unityCatalog: readUnityCatalogSource(env, { allowHttp: allowHttpTargets, allowPrivate: allowPrivateTargets }),
  };
}

/**
 * `WEBHOOKS_ENTRA_AUDIENCES` needs `WEBHOOKS_ENTRA_CLIENT_ID`, the delivery identity, which must not be the app's own
 * (`AZURE_CLIENT_ID`, `AzureWebJobsStorage__clientId`): its tokens go to URLs that managers choose, so each audience
 * names the origins its tokens may go to.
 */
function parseEntraDelivery(env: Env): { entra?: EntraDeliveryConfig } {
  const audiences = parseEntraAudiences(value(env, SETTINGS.entraAudiences) ?? '');
  const clientId = value(env, SETTINGS.entraClientId);
  if (audiences.length === 0) return {};
  if (clientId === undefined) {
    throw new ConfigError(`${SETTINGS.entraAudiences} is set, but ${SETTINGS.entraClientId} is not: set it to the client id of the delivery identity (a user-assigned identity with no roles)`, SETTINGS.entraClientId);
  }
  // Client ids are GUIDs, which Entra matches in any letter case.
  const appIdentities = [value(env, 'AZURE_CLIENT_ID'), value(env, STORAGE_IDENTITY_SETTINGS.clientId)].map((id) => id?.toLowerCase());
  if (appIdentities.includes(clientId.toLowerCase())) {
    throw new ConfigError(`${SETTINGS.entraClientId} names the app's own identity; it must name the delivery identity, which holds no roles`, SETTINGS.entraClientId);
  }
  return { entra: { clientId, audiences } };
}

/** From 1 s (tests) to the 10-minute cap the cool-down doubles up to. */
function parseCircuitCooldown(env: Env): number {
  const ms = parseDuration(value(env, SETTINGS.circuitCooldown) ?? DEFAULT_CIRCUIT_COOLDOWN, SETTINGS.circuitCooldown);
  if (ms < 1000 || ms > 600_000) throw new ConfigError(`${SETTINGS.circuitCooldown} must be from 1s to 10m`, SETTINGS.circuitCooldown);
  return ms;
}

/** `MLFLOW_WEBHOOK_SECRETS` (comma list) turns the MLflow ingest endpoint on; `MLFLOW_ALIAS_STAGES` maps aliases to stages. */
function parseMlflowIngest(env: Env): { mlflow?: MlflowIngestConfig } {
  const aliasStages = parseAliasStages(value(env, SETTINGS.mlflowAliasStages) ?? DEFAULT_MLFLOW_ALIAS_STAGES, SETTINGS.mlflowAliasStages);
  const raw = value(env, SETTINGS.mlflowWebhookSecrets);
  if (raw === undefined) return {};
  const secrets = raw
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');
  if (secrets.length === 0) throw new ConfigError(`${SETTINGS.mlflowWebhookSecrets} must list at least one secret (comma-separated), or be unset to turn the MLflow endpoint off`);
  if (secrets.some((secret) => secret.length < 16)) {
    throw new ConfigError(`${SETTINGS.mlflowWebhookSecrets}: each secret must be at least 16 characters (the same value as the MLflow webhook's secret)`);
  }
  return { mlflow: { secrets, aliasStages } };
}

export function parseSecretKey(raw: string | undefined, setting: string): Buffer {
  const howTo = `make one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;
  if (raw === undefined) throw new ConfigError(`${setting} is not set. It must be base64 of 32 random bytes; ${howTo}`, setting);
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32 || key.toString('base64') !== raw) {
    throw new ConfigError(`${setting} must be base64 of exactly 32 bytes (got ${key.length}); ${howTo}`, setting);
  }
  return key;
}

export function parseRetrySchedule(raw: string): number[] {
  const schedule = raw.split(',').map((part) => parseDuration(part, SETTINGS.retrySchedule));
  if (schedule.length === 0 || schedule.length > 50) {
    throw new ConfigError(`${SETTINGS.retrySchedule} must list between 1 and 50 delays`, SETTINGS.retrySchedule);
  }
  const max = 7 * 24 * 3_600_000;
  if (schedule.some((ms) => ms > max)) throw new ConfigError(`${SETTINGS.retrySchedule}: a delay may not exceed 7 days (the queue's limit)`, SETTINGS.retrySchedule);
  return schedule;
}

export function parseRateLimit(raw: string): { capacity: number; windowMs: number } {
  if (raw === '0' || raw.toLowerCase() === 'off') return { capacity: 0, windowMs: 1 };
  const [count, window] = raw.split('/');
  const capacity = Number(count);
  if (!Number.isInteger(capacity) || capacity < 1 || window === undefined) {
    throw new ConfigError(`${SETTINGS.rateLimit} must be <requests>/<duration> (for example 1200/1m) or 0 for no limit`, SETTINGS.rateLimit);
  }
  const windowMs = parseDuration(window, SETTINGS.rateLimit);
  if (windowMs <= 0) throw new ConfigError(`${SETTINGS.rateLimit}: the duration must be greater than zero`, SETTINGS.rateLimit);
  return { capacity, windowMs };
}

function parsePositiveDuration(env: Env, setting: string, fallback: string): number {
  const ms = parseDuration(value(env, setting) ?? fallback, setting);
  if (ms <= 0) throw new ConfigError(`${setting} must be greater than zero`, setting);
  return ms;
}

/** A retention: at least a day, so that nothing a retry or a redelivery still needs is purged. */
function parseRetention(env: Env, setting: string, fallback: string): number {
  const ms = parseDuration(value(env, setting) ?? fallback, setting);
  if (ms < 86_400_000) throw new ConfigError(`${setting} must be at least 1d`, setting);
  return ms;
}

function parseBoolean(env: Env, setting: string): boolean {
  const raw = value(env, setting)?.toLowerCase();
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ConfigError(`${setting} must be true or false`, setting);
}

/** The issuer as an MSAL authority: an absolute https URL (MSAL refuses any other). */
function parseAuthority(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new ConfigError(`${SETTINGS.oidcIssuer} must be a URL such as https://login.microsoftonline.com/<tenant id>/v2.0`, SETTINGS.oidcIssuer);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`${SETTINGS.oidcIssuer} must be an https:// URL for the console's sign-in (${SETTINGS.consoleClientId} is set)`, SETTINGS.oidcIssuer);
  return issuer.replace(/\/+$/, '');
}

function parseWorkspaceSetting(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${SETTINGS.databricksWorkspaceUrl} must be a URL such as https://adb-123.4.azuredatabricks.net`, SETTINGS.databricksWorkspaceUrl);
  }
  return url.origin;
}

/**
 * The storage account, as the Functions host reads it: a connection string in `AzureWebJobsStorage`, or the
 * identity-based `AzureWebJobsStorage__*` settings (account name, or explicit service URIs).
 */
export function parseStorageSettings(env: Env): StorageSettings {
  const connectionString = value(env, SETTINGS.storage);
  if (connectionString) return { kind: 'connectionString', connectionString };
  const names = STORAGE_IDENTITY_SETTINGS;
  const accountName = value(env, names.accountName);
  const queueServiceUri = value(env, names.queueServiceUri) ?? (accountName && `https://${accountName}.queue.core.windows.net`);
  const tableServiceUri = value(env, names.tableServiceUri) ?? (accountName && `https://${accountName}.table.core.windows.net`);
  if (!queueServiceUri || !tableServiceUri) {
    throw new ConfigError(
      `Storage is not configured: set ${SETTINGS.storage} to a connection string (${DEV_STORAGE} for Azurite), ` +
        `or ${names.accountName}, or both ${names.queueServiceUri} and ${names.tableServiceUri}`,
      SETTINGS.storage,
    );
  }
  const credential = value(env, names.credential);
  const clientId = value(env, names.clientId);
  return {
    kind: 'identity',
    queueServiceUri,
    tableServiceUri,
    ...(credential ? { credential } : {}),
    ...(clientId ? { clientId } : {}),
  };
}

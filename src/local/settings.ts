import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

interface LocalSettingsFile {
  IsEncrypted?: boolean;
  Values?: Record<string, string>;
  Host?: { LocalHttpPort?: number };
}

/**
 * Creates `local.settings.json` from the sample on the first run, with a generated dev admin token and
 * `WEBHOOKS_SECRET_KEY`. Answers the token when one was generated, so it can be printed once.
 */
export function ensureLocalSettings(path: string, samplePath: string): { created: boolean; adminToken?: string } {
  if (existsSync(path)) return { created: false };
  const sample = JSON.parse(readFileSync(samplePath, 'utf8')) as LocalSettingsFile;
  const values = { ...sample.Values };
  const adminToken = `dev-admin-${randomBytes(18).toString('base64url')}`;
  values.WEBHOOKS_SECRET_KEY ||= randomBytes(32).toString('base64');
  values.WEBHOOKS_AUTH_TOKENS ||= `admin:${adminToken}`;
  writeFileSync(path, `${JSON.stringify({ ...sample, Values: values }, null, 2)}\n`, { mode: 0o600 });
  return { created: true, adminToken };
}

/** The `Values`, applied to the environment where the environment does not already set them. */
export function applyLocalSettings(path: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!existsSync(path)) return;
  const settings = JSON.parse(readFileSync(path, 'utf8')) as LocalSettingsFile;
  for (const [name, value] of Object.entries(settings.Values ?? {})) {
    if (env[name] === undefined) env[name] = value;
  }
}

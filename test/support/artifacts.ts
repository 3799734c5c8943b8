import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the tests saw (runtime logs, API responses, stored entities) and which secrets they used, written to
 * the folder `npm test` names in RW_TEST_ARTIFACTS. After the run, scripts/scan-test-artifacts.ts searches it
 * all for every secret, so a leak anywhere in the suite fails it.
 */
const dir = process.env.RW_TEST_ARTIFACTS;

export function recordArtifact(kind: string, text: string): void {
  if (!dir) return;
  appendFileSync(join(dir, `${kind}-${process.pid}.txt`), `${text}\n`);
}

/** Secret values a test handed to the service; the scan fails if any of them shows up in an artifact. */
export function recordSecrets(values: readonly (string | undefined)[]): void {
  const secrets = values.filter((value): value is string => typeof value === 'string' && value.length >= 8);
  if (dir && secrets.length > 0) appendFileSync(join(dir, `secrets-${process.pid}.list`), `${secrets.map((value) => JSON.stringify(value)).join('\n')}\n`);
}

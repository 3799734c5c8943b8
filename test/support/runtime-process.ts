import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { spawnRuntime, type TestRuntime } from './spawn-runtime.js';

export type { ApiResponse, TestRuntime } from './spawn-runtime.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const MANAGER_TOKEN = 'test-manager-token-0123456789abcd';
export const PUBLISHER_TOKEN = 'test-publisher-token-0123456789ab';
/** A team's tokens, scoped to the models `fraud-*` and `churn-model` (manager) and `fraud-*` (publisher). */
export const TEAM_MANAGER_TOKEN = 'test-team-manager-token-0123456789';
export const TEAM_PUBLISHER_TOKEN = 'test-team-publisher-token-012345678';
export const SECRET_KEY = randomBytes(32).toString('base64');

export const TEST_MAX_POLLING_INTERVAL = '00:00:00.2';

/** Settings for a runtime under test; any of them can be overridden. */
export function testEnv(connectionString: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: connectionString,
    WEBHOOKS_SECRET_KEY: SECRET_KEY,
    WEBHOOKS_AUTH_TOKENS: `admin:${ADMIN_TOKEN},manager:${MANAGER_TOKEN},publisher:${PUBLISHER_TOKEN},manager[fraud-*|churn-model]:${TEAM_MANAGER_TOKEN},publisher[fraud-*]:${TEAM_PUBLISHER_TOKEN}`,
    WEBHOOKS_ALLOW_HTTP_TARGETS: 'true',
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,1s',
    DELIVERY_TIMEOUT: '2s',
    WEBHOOKS_RATE_LIMIT: '100000/1m',
    // Tests of dead or failing receivers run on seconds, so an origin's circuit cools down in one too.
    WEBHOOKS_CIRCUIT_COOLDOWN: '1s',
    // The runtime polls queues as the host does (an enqueue does not wake it); a short interval keeps tests quick.
    AzureFunctionsJobHost__extensions__queues__maxPollingInterval: TEST_MAX_POLLING_INTERVAL,
    ...overrides,
  };
}

/** The runtime of `npm start` as a child process for this test file, stopped when the file's tests end. */
export async function startRuntime(env: Record<string, string>, options: { queueLease?: string } = {}): Promise<TestRuntime> {
  const runtime = await spawnRuntime(env, { ...options, defaultToken: ADMIN_TOKEN });
  after(() => runtime.stop());
  return runtime;
}

export const API = '/api/2.0/mlflow/registry-webhooks';

/** Polls until `check` answers a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

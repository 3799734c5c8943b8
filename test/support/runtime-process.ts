import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../src/local/azurite.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const MANAGER_TOKEN = 'test-manager-token-0123456789abcd';
export const PUBLISHER_TOKEN = 'test-publisher-token-0123456789ab';
export const SECRET_KEY = randomBytes(32).toString('base64');

/** Settings for a runtime under test; any of them can be overridden. */
export function testEnv(connectionString: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: connectionString,
    WEBHOOKS_SECRET_KEY: SECRET_KEY,
    WEBHOOKS_AUTH_TOKENS: `admin:${ADMIN_TOKEN},manager:${MANAGER_TOKEN},publisher:${PUBLISHER_TOKEN}`,
    WEBHOOKS_ALLOW_HTTP_TARGETS: 'true',
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,1s',
    DELIVERY_TIMEOUT: '2s',
    WEBHOOKS_RATE_LIMIT: '100000/1m',
    ...overrides,
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface TestRuntime {
  baseUrl: string;
  process: ChildProcess;
  /** Everything the runtime printed so far. */
  output(): string;
  api(method: string, path: string, options?: { body?: unknown; rawBody?: string | Buffer; token?: string | null; headers?: Record<string, string> }): Promise<ApiResponse>;
  stop(): Promise<void>;
  kill(): void;
}

/**
 * Starts the local runtime exactly as `npm start` does (a child process running src/local/start.ts), on a
 * free port, with the given settings in its environment and a short queue lease (so a killed process's
 * messages come back in seconds rather than the host's 10 minutes).
 */
export async function startRuntime(env: Record<string, string>, options: { queueLease?: string; stopWithFile?: boolean } = {}): Promise<TestRuntime> {
  const settingsDir = mkdtempSync(join(tmpdir(), 'rw-settings-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/local/start.ts'), '--port', '0', '--settings', join(settingsDir, 'local.settings.json'), '--queue-lease', options.queueLease ?? '4s'],
    { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime did not start:\n${output}`)), 60_000);
    const check = () => {
      const match = /listening on http:\/\/localhost:(\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code}:\n${output}`));
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const runtime: TestRuntime = {
    baseUrl,
    process: child,
    output: () => output,
    async api(method, path, { body, rawBody, token = ADMIN_TOKEN, headers = {} } = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON; tests look at text
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    stop: () => stopChild(child),
    kill: () => child.kill('SIGKILL'),
  };
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

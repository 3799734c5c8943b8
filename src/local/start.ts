import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/errors.js';
import { parseDuration } from '../config/duration.js';
import { buildConsole } from './console-build.js';
import { startRuntime } from './runtime.js';
import { applyLocalSettings, ensureLocalSettings } from './settings.js';

/**
 * `npm start`: the local stand-in for `func start`. Options: `--port N` (default 7071, 0 for any free port),
 * `--settings FILE` (default local.settings.json), `--queue-lease DURATION` (the host's is 10m), `--wake-on-enqueue`
 * (a development shortcut: queue listeners wake when this process enqueues, which the host never does).
 */
async function main(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7071' },
      settings: { type: 'string', default: `${root}/local.settings.json` },
      'queue-lease': { type: 'string' },
      'wake-on-enqueue': { type: 'boolean', default: false },
    },
  });
  const created = ensureLocalSettings(values.settings, `${root}/local.settings.sample.json`);
  if (created.adminToken) {
    console.log(`Created ${values.settings} with a new WEBHOOKS_SECRET_KEY and a dev admin token (shown once):\n\n  ${created.adminToken}\n`);
  }
  applyLocalSettings(values.settings);
  // The console at /api/console is served from dist/console; rebuild it when its sources changed.
  if ((await buildConsole(root, { onlyIfStale: true })).built) console.log('Built the console into dist/console');
  const runtime = await startRuntime({
    root,
    port: Number(values.port),
    azuriteLocation: `${root}/.azurite`,
    ...(values['queue-lease'] ? { queueLeaseMs: parseDuration(values['queue-lease'], '--queue-lease') } : {}),
    wakeOnEnqueue: values['wake-on-enqueue'],
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
});

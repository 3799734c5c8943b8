import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isListening, stopChild } from '../../src/local/azurite.js';
import { waitFor } from '../support/runtime-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `npm start`'s Azurite (ensureLocalAzurite) in a child process that then fails, as a start-up error does.
 * Free ports stand in for 10000-10002 so the test never meets a developer's Azurite.
 */
async function startThenFail(ports: number[], failure: string): Promise<string> {
  const [blobPort, queuePort, tablePort] = ports;
  const script = `
    import { ensureLocalAzurite } from ${JSON.stringify(join(root, 'src/local/azurite.ts'))};
    const azurite = await ensureLocalAzurite(${JSON.stringify(mkdtempSync(join(tmpdir(), 'rw-azurite-')))}, { host: '127.0.0.1', blobPort: ${blobPort}, queuePort: ${queuePort}, tablePort: ${tablePort} });
    console.log(azurite.process ? 'started' : 'reused');
    ${failure}
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  await stopChild(child);
  return output;
}

describe('the Azurite npm start runs stops when npm start exits', () => {
  for (const [what, failure] of [
    ['an uncaught start-up error', "throw new Error('Configuration error: boom');"],
    ['process.exit(1)', 'process.exit(1);'],
  ] as const) {
    it(`on ${what}`, async () => {
      const ports = [await freePort(), await freePort(), await freePort()];
      const output = await startThenFail(ports, failure);
      assert.match(output, /started/);
      await waitFor('Azurite to stop', async () => ((await Promise.all(ports.map((port) => isListening('127.0.0.1', port)))).some(Boolean) ? undefined : true));
    });
  }
});

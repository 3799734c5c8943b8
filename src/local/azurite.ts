import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { azuriteConnectionString, DEFAULT_AZURITE, type AzuriteEndpoints } from '../storage/azure-clients.js';

export interface RunningAzurite {
  endpoints: AzuriteEndpoints;
  connectionString: string;
  /** Undefined when an Azurite that was already running is reused. */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Folder for the data; in memory when undefined. */
  location?: string;
  /** Ports to listen on; 0 picks free ones. */
  ports?: { blob: number; queue: number; table: number };
  host?: string;
}

const azuriteBin = (): string => createRequire(import.meta.url).resolve('azurite/dist/src/azurite.js');

export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Starts Azurite (the npm package) with telemetry off, and resolves once all three services listen. With
 * port 0 it reads the ports Azurite bound from its start-up lines.
 */
export function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const host = options.host ?? '127.0.0.1';
  const ports = options.ports ?? { blob: 0, queue: 0, table: 0 };
  const args = [
    azuriteBin(),
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    ...['--blobHost', host, '--queueHost', host, '--tableHost', host],
    ...['--blobPort', String(ports.blob), '--queuePort', String(ports.queue), '--tablePort', String(ports.table)],
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence', '--extentMemoryLimit', '256');
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const bound: Partial<Record<'Blob' | 'Queue' | 'Table', number>> = {};
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^:]+:(\d+)/g)) {
        bound[match[1] as 'Blob' | 'Queue' | 'Table'] = Number(match[2]);
      }
      if (bound.Blob && bound.Queue && bound.Table) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        child.stderr.resume();
        const endpoints: AzuriteEndpoints = { host, blobPort: bound.Blob, queuePort: bound.Queue, tablePort: bound.Table };
        // In memory there is nothing to flush, so no reason to wait for open connections to drain.
        const stop = options.location ? () => stopChild(child) : () => stopChild(child, 'SIGKILL');
        resolve({ endpoints, connectionString: azuriteConnectionString(endpoints), process: child, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`Azurite exited (code ${code}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
}

/** SIGTERM lets Azurite flush its data to disk; SIGKILL follows if it does not stop within 10 s. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * The storage for `npm start`: an Azurite on the default ports is reused, else one is started with data in `location`
 * and stopped (SIGTERM, so it flushes) however this process exits, short of a SIGKILL.
 */
export async function ensureLocalAzurite(location: string, endpoints: AzuriteEndpoints = DEFAULT_AZURITE): Promise<RunningAzurite> {
  const { host, blobPort, queuePort, tablePort } = endpoints;
  const listening = await Promise.all([blobPort, queuePort, tablePort].map((port) => isListening(host, port)));
  if (listening.every(Boolean)) {
    return { endpoints, connectionString: azuriteConnectionString(endpoints), stop: () => Promise.resolve() };
  }
  if (listening.some(Boolean)) {
    throw new Error(`Something listens on some of the storage ports ${blobPort}-${tablePort} but not all; stop it or start a full Azurite`);
  }
  const started = await startAzurite({ location, ports: { blob: blobPort, queue: queuePort, table: tablePort }, host });
  const child = started.process;
  const stopWithUs = () => child?.kill('SIGTERM');
  process.once('exit', stopWithUs);
  child?.once('exit', () => process.off('exit', stopWithUs));
  return started;
}

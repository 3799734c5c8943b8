/**
 * The many-instances scenario of `npm run bench` (`--instances N`): N deliveries of mixed fan-out through three
 * runtime processes on one Azurite, one SIGKILLed mid-run and another started (test/support/many-instances.ts,
 * which the end-to-end test runs with 3,000).
 */
import { startAzurite } from '../src/local/azurite.js';
import { runManyInstances } from '../test/support/many-instances.js';
import { spawnRuntime } from '../test/support/spawn-runtime.js';
import { BENCH_TOKEN } from './bench-kit.js';

export interface InstancesFigures {
  deliveries: number;
  lost: number;
  text: string;
}

export async function instancesScenario(options: { deliveries: number; env: (connectionString: string) => Record<string, string>; latencyMs: number }): Promise<InstancesFigures> {
  const azurite = await startAzurite();
  try {
    const result = await runManyInstances({
      azurite: azurite.endpoints,
      deliveries: options.deliveries,
      env: options.env,
      // A short lease, so the killed process's messages come back in seconds rather than the host's 10 minutes.
      spawn: (env) => spawnRuntime(env, { defaultToken: BENCH_TOKEN, queueLease: '10s' }),
      latencyMs: options.latencyMs,
      timeoutMs: 15 * 60_000,
    });
    return { deliveries: result.delivered, lost: result.lost, text: result.text };
  } finally {
    await azurite.stop();
  }
}

import { readFileSync } from 'node:fs';
import { parseTimeSpan } from '../config/duration.js';
import { MIN_POLL_MS } from './queue-polling.js';

/** The queue settings of host.json, with the Functions host's defaults. */
export interface QueueHostSettings {
  batchSize: number;
  newBatchThreshold: number;
  maxPollingIntervalMs: number;
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
}

export interface HostSettings {
  routePrefix: string;
  queues: QueueHostSettings;
}

const OVERRIDE_PREFIX = 'azurefunctionsjobhost__';

type JsonObject = Record<string, unknown>;

/**
 * The host lets an app setting `AzureFunctionsJobHost__path__to__key` override `path.to.key` of host.json
 * (names ignoring case); the tests use it for a short `maxPollingInterval`.
 */
function withOverrides(json: JsonObject, env: NodeJS.ProcessEnv): JsonObject {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toLowerCase().startsWith(OVERRIDE_PREFIX)) continue;
    const path = name.slice(OVERRIDE_PREFIX.length).split('__');
    let node = json;
    for (const [index, segment] of path.entries()) {
      const key = Object.keys(node).find((existing) => existing.toLowerCase() === segment.toLowerCase()) ?? segment;
      if (index === path.length - 1) {
        node[key] = value;
        break;
      }
      const child = node[key];
      node = typeof child === 'object' && child !== null ? (child as JsonObject) : (node[key] = {});
    }
  }
  return json;
}

export function readHostJson(path: string, env: NodeJS.ProcessEnv = process.env): HostSettings {
  const json = withOverrides(JSON.parse(readFileSync(path, 'utf8')) as JsonObject, env) as {
    extensions?: { http?: { routePrefix?: string }; queues?: Record<string, unknown> };
  };
  const queues = json.extensions?.queues ?? {};
  const batchSize = Math.min(32, Math.max(1, Number(queues.batchSize ?? 16)));
  return {
    routePrefix: (json.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
    queues: {
      batchSize,
      newBatchThreshold: Number(queues.newBatchThreshold ?? Math.floor(batchSize / 2)),
      maxPollingIntervalMs: Math.max(MIN_POLL_MS, parseTimeSpan(queues.maxPollingInterval, 60_000)),
      visibilityTimeoutMs: parseTimeSpan(queues.visibilityTimeout, 0),
      maxDequeueCount: Number(queues.maxDequeueCount ?? 5),
      messageEncoding: queues.messageEncoding === 'none' ? 'none' : 'base64',
    },
  };
}

import { readFileSync } from 'node:fs';
import { parseTimeSpan } from '../config/duration.js';

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

export function readHostJson(path: string): HostSettings {
  const json = JSON.parse(readFileSync(path, 'utf8')) as {
    extensions?: { http?: { routePrefix?: string }; queues?: Record<string, unknown> };
  };
  const queues = json.extensions?.queues ?? {};
  const batchSize = Math.min(32, Math.max(1, Number(queues.batchSize ?? 16)));
  return {
    routePrefix: (json.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
    queues: {
      batchSize,
      newBatchThreshold: Number(queues.newBatchThreshold ?? Math.floor(batchSize / 2)),
      maxPollingIntervalMs: parseTimeSpan(queues.maxPollingInterval, 60_000),
      visibilityTimeoutMs: parseTimeSpan(queues.visibilityTimeout, 0),
      maxDequeueCount: Number(queues.maxDequeueCount ?? 5),
      messageEncoding: queues.messageEncoding === 'none' ? 'none' : 'base64',
    },
  };
}

import { randomUUID } from 'node:crypto';

const WORKSPACE = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/ws';
export const MODEL_REGISTERED = 'Microsoft.MachineLearningServices.ModelRegistered';

/** An Azure ML event in the Event Grid schema, as real events send it: camelCase data, the version a string. */
export function eventGridEvent(modelName: string, modelVersion: string | number, options: { id?: string; eventType?: string; eventTime?: string } = {}): Record<string, unknown> {
  return {
    topic: WORKSPACE,
    subject: `models/${modelName}:${modelVersion}`,
    eventType: options.eventType ?? MODEL_REGISTERED,
    eventTime: options.eventTime ?? '2025-11-29T10:00:00.9584103Z',
    id: options.id ?? randomUUID(),
    data: { modelName, modelVersion, modelTags: { area: 'diabetes' }, modelProperties: {} },
    dataVersion: '2',
    metadataVersion: '1',
  };
}

/** The same event in CloudEvents 1.0 with PascalCase data and a numeric version, as the Event Grid documentation shows it. */
export function cloudEventsEvent(modelName: string, modelVersion: string | number, options: { id?: string; type?: string } = {}): Record<string, unknown> {
  return {
    source: WORKSPACE,
    subject: `models/${modelName}:${modelVersion}`,
    type: options.type ?? MODEL_REGISTERED,
    time: '2025-11-29T10:00:00.9584103Z',
    id: options.id ?? randomUUID(),
    data: { ModelName: modelName, ModelVersion: modelVersion, ModelTags: { area: 'diabetes' }, ModelProperties: { type: 'test' } },
    specversion: '1.0',
  };
}

/** A queue message as Event Grid's storage-queue destination writes it: the JSON, base64-encoded. */
export const asQueueMessage = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64');

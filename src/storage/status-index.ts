import type { DeliveryStatus } from '../pipeline/delivery.js';

/**
 * The statuses kept in a status index beside the records, so that listing them (and redelivering them) reads
 * only what it returns. The others are listed by reading the webhook's records.
 */
export const INDEXED_STATUSES = ['FAILED', 'SKIPPED'] as const satisfies readonly DeliveryStatus[];
export type IndexedStatus = (typeof INDEXED_STATUSES)[number];
export const isIndexedStatus = (status: DeliveryStatus): status is IndexedStatus => (INDEXED_STATUSES as readonly DeliveryStatus[]).includes(status);

/**
 * Records' row keys start with a digit (the inverted event time); index rows start with `~`, which sorts after
 * every digit, so a record listing ends at `~` and an index is its own key range: `~FAILED_<record row key>`.
 */
export const INDEX_START = '~';
export const indexPrefix = (status: IndexedStatus): string => `${INDEX_START}${status}_`;
export const indexRowKey = (status: IndexedStatus, recordRowKey: string): string => `${indexPrefix(status)}${recordRowKey}`;
export const recordRowKeyOf = (rowKey: string): string => rowKey.slice(rowKey.indexOf('_') + 1);

/**
 * The version the store answers: the row's etag, prefixed with the status the record is indexed under, so a
 * replace knows which index row to remove without reading it. Etags start with `W/`, never with a status.
 */
export const indexedVersion = (etag: string, indexed: IndexedStatus | undefined): string => (indexed ? `${indexed}:${etag}` : etag);

export function parseIndexedVersion(version: string): { etag: string; indexed?: IndexedStatus } {
  const colon = version.indexOf(':');
  const head = version.slice(0, colon);
  return colon > 0 && (INDEXED_STATUSES as readonly string[]).includes(head) ? { etag: version.slice(colon + 1), indexed: head as IndexedStatus } : { etag: version };
}

/** The status a record says it is indexed under, if it names one. */
export const indexedOf = (value: unknown): IndexedStatus | undefined => (typeof value === 'string' && (INDEXED_STATUSES as readonly string[]).includes(value) ? (value as IndexedStatus) : undefined);

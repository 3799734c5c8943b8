import type { TableClient, TableTransactionResponse, TransactionAction } from '@azure/data-tables';
import { isStorageTrouble } from './rest-errors.js';

/** One caller's share of a transaction's answer: a sub-response per action it submitted, in its order. */
export type SubResponses = TableTransactionResponse['subResponses'];

interface Submitted {
  actions: TransactionAction[];
  rowKeys: string[];
  resolve: (answer: SubResponses) => void;
  reject: (error: unknown) => void;
}

/** A transaction holds at most 100 operations, on rows of one partition, each row at most once. */
const MAX_OPERATIONS = 100;

const partitionOf = (action: TransactionAction): string => action[1].partitionKey;
const rowKeyOf = (action: TransactionAction): string => action[1].rowKey;

/**
 * Group commit per partition. Transactions submitted for one partition while another of its transactions is on
 * the wire (or in the same turn of the event loop) go out together as one storage request, up to 100
 * operations: concurrent fan-outs writing to one webhook's partition share requests instead of each paying one.
 * Each caller's answer is its own: if the shared transaction fails (one caller's row exists, or changed since it
 * was read), every caller's actions are sent again on their own, so each sees exactly the outcome it would have
 * had alone, and nothing is written that its own transaction would not have written. Storage trouble (busy,
 * failing, out of reach) is answered to every caller of the request as it is.
 */
export class PartitionBatcher {
  private readonly queued = new Map<string, Submitted[]>();

  constructor(private readonly table: TableClient) {}

  /** Submits one transaction (actions on one partition); answers its sub-responses, or its error. */
  submit(actions: TransactionAction[]): Promise<SubResponses> {
    const first = actions[0];
    if (!first) return Promise.resolve([]);
    const partition = partitionOf(first);
    return new Promise<SubResponses>((resolve, reject) => {
      const submitted: Submitted = { actions, rowKeys: actions.map(rowKeyOf), resolve, reject };
      const waiting = this.queued.get(partition);
      if (waiting) {
        waiting.push(submitted);
        return;
      }
      this.queued.set(partition, [submitted]);
      // The rest of this turn's submissions for the partition join the first request.
      setImmediate(() => void this.drain(partition));
    });
  }

  /** Writes the partition's queue a batch at a time, until it is empty; then the partition is idle again. */
  private async drain(partition: string): Promise<void> {
    const waiting = this.queued.get(partition) ?? [];
    while (waiting.length > 0) await this.write(takeBatch(waiting));
    this.queued.delete(partition);
  }

  private async write(batch: readonly Submitted[]): Promise<void> {
    const [only] = batch;
    if (batch.length === 1 && only) {
      await this.table.submitTransaction(only.actions).then((answer) => only.resolve(answer.subResponses), only.reject);
      return;
    }
    let answer: TableTransactionResponse;
    try {
      answer = await this.table.submitTransaction(batch.flatMap((submitted) => submitted.actions));
    } catch (error) {
      // Storage trouble is no caller's doing: each is answered it, as it would be alone, instead of one more
      // request per caller to a service that is throttling (or that applied the transaction and lost its answer).
      if (isStorageTrouble(error)) for (const submitted of batch) submitted.reject(error);
      else await Promise.all(batch.map((submitted) => this.write([submitted])));
      return;
    }
    let offset = 0;
    for (const submitted of batch) {
      submitted.resolve(answer.subResponses.slice(offset, offset + submitted.actions.length));
      offset += submitted.actions.length;
    }
  }
}

/** The longest run from the front of the queue that fits one transaction with no row twice (at least one). */
function takeBatch(waiting: Submitted[]): Submitted[] {
  const rows = new Set<string>();
  let operations = 0;
  let count = 0;
  for (const submitted of waiting) {
    const fits = operations + submitted.actions.length <= MAX_OPERATIONS && submitted.rowKeys.every((row) => !rows.has(row));
    if (count > 0 && !fits) break;
    for (const row of submitted.rowKeys) rows.add(row);
    operations += submitted.actions.length;
    count += 1;
  }
  return waiting.splice(0, count);
}

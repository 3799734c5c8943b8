/**
 * The first `limit` items a query's rows make, in key order: `read` turns a row into an item, or skips it
 * (undefined). Stops reading as soon as the limit is reached, so a keyset page costs only the pages it needs.
 */
export async function readUpTo<E, T>(pages: AsyncIterable<readonly E[]>, limit: number, read: (row: E) => T | undefined | Promise<T | undefined>): Promise<T[]> {
  const found: T[] = [];
  if (limit <= 0) return found;
  for await (const page of pages) {
    for (const row of page) {
      const item = await read(row);
      if (item === undefined) continue;
      found.push(item);
      if (found.length >= limit) return found;
    }
  }
  return found;
}

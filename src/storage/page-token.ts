import { z } from 'zod';
import { definedOnly } from '../shared/defined.js';
import { invalidParameter } from '../shared/errors.js';

/** Keyset position: the partition and row key of the last item returned; `listing` names the listing, where it matters. */
export interface Cursor {
  partition: string;
  row: string;
  listing?: string;
}

/** A token's JSON: the cursor under one-letter keys, to keep tokens short (and readable when issued before). */
const tokenSchema = z.strictObject({ p: z.string().max(1024), r: z.string().max(1024), q: z.string().max(256).optional() });

/** Page tokens are opaque to callers: base64url JSON of the keyset position. */
export function encodePageToken(cursor: Cursor): string {
  const token: z.infer<typeof tokenSchema> = { p: cursor.partition, r: cursor.row, ...definedOnly({ q: cursor.listing }) };
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

/**
 * The position a `page_token` names, if one was sent; a token from a listing of another partition (another
 * model's webhooks, another webhook's deliveries) is refused, naming `otherListing`, what that listing was.
 */
export function cursorOf(token: string | undefined, partition: string | undefined, otherListing: string): Cursor | undefined {
  if (token === undefined) return undefined;
  const cursor = decodePageToken(token);
  if (partition !== undefined && cursor.partition !== partition) throw invalidParameter(`Invalid parameter 'page_token': it belongs to a listing of ${otherListing}`);
  return cursor;
}

export function decodePageToken(token: string): Cursor {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    const parsed = tokenSchema.safeParse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    if (parsed.success) return { partition: parsed.data.p, row: parsed.data.r, ...definedOnly({ listing: parsed.data.q }) };
  } catch {
    // fall through to the one error below
  }
  throw invalidParameter("Invalid parameter 'page_token': not a token this API issued");
}

import { z } from 'zod';
import { invalidParameter } from '../shared/errors.js';

/** Keyset position: the partition and row key of the last item returned; `q` names the listing, where it matters. */
export interface Cursor {
  p: string;
  r: string;
  q?: string;
}

const cursorSchema = z.strictObject({ p: z.string().max(1024), r: z.string().max(1024), q: z.string().max(256).optional() });

/** Page tokens are opaque to callers: base64url JSON of the keyset position. */
export const encodePageToken = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');

/**
 * The position a `page_token` names, if one was sent; a token from a listing of another partition (another
 * model's webhooks, another webhook's deliveries) is refused, naming `what` that listing was.
 */
export function cursorOf(token: string | undefined, partition: string | undefined, what: string): Cursor | undefined {
  if (token === undefined) return undefined;
  const cursor = decodePageToken(token);
  if (partition !== undefined && cursor.p !== partition) throw invalidParameter(`Invalid parameter 'page_token': it belongs to a listing of ${what}`);
  return cursor;
}

export function decodePageToken(token: string): Cursor {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the one error below
  }
  throw invalidParameter("Invalid parameter 'page_token': not a token this API issued");
}

import type { HttpRequest } from '@azure/functions';
import { ApiError } from '../shared/errors.js';
import { JsonSyntaxError, NotUtf8Error, parseJsonUtf8, type JsonValue } from './parse-json.js';

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () => new ApiError('REQUEST_TOO_LARGE', `The request body exceeds ${MAX_BODY_BYTES} bytes (1 MiB)`);

/**
 * Checks what the headers say about the body before anything is read: chunked is 411 (the host would forward it
 * empty), a declared length over the cap 413 (docs/host-fidelity.md, Request bodies).
 */
export function checkBodyHeaders(request: HttpRequest, limit = MAX_BODY_BYTES): void {
  if (request.headers.has('transfer-encoding') && request.method !== 'GET' && request.method !== 'HEAD') {
    throw new ApiError(
      'LENGTH_REQUIRED',
      'Send the request body with a Content-Length header: the Azure Functions host drops chunked (Transfer-Encoding) bodies',
    );
  }
  if (Number(request.headers.get('content-length') ?? '0') > limit) throw tooLarge();
}

/** Reads the raw body, refusing more than `limit` bytes without buffering the excess. */
export async function readBodyBytes(request: HttpRequest, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) throw tooLarge();
  const stream = request.body;
  if (!stream) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The one charset rule of every path that reads a body: any media type, with no charset or `charset=utf-8`;
 * anything else is MALFORMED_REQUEST.
 */
export function requireUtf8Charset(contentType: string | null): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8') {
    throw new ApiError('MALFORMED_REQUEST', `Request bodies must be UTF-8 JSON; charset '${charset}' is not supported (send no charset, or utf-8)`);
  }
}

/**
 * The JSON body, or undefined when there is none. Any Content-Type is read as JSON, because the Databricks
 * docs' `curl -d` sends form-urlencoded; a declared charset other than UTF-8 is refused.
 */
export async function readJsonBody(request: HttpRequest): Promise<JsonValue | undefined> {
  requireUtf8Charset(request.headers.get('content-type'));
  return parseJsonBytes(await readBodyBytes(request));
}

/** Body bytes as strict JSON (see parse-json.ts), or undefined when there are none; MALFORMED_REQUEST otherwise. */
export function parseJsonBytes(bytes: Uint8Array): JsonValue | undefined {
  try {
    return parseJsonUtf8(bytes);
  } catch (error) {
    if (error instanceof NotUtf8Error) throw new ApiError('MALFORMED_REQUEST', 'The request body is not valid UTF-8');
    if (error instanceof JsonSyntaxError) throw new ApiError('MALFORMED_REQUEST', `The request body is not valid JSON: ${error.message}`);
    throw error;
  }
}

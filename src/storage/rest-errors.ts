/** Status codes of Azure SDK RestErrors, without depending on the error class. */
export const statusCodeOf = (error: unknown): number | undefined => {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const { statusCode } = error;
    return typeof statusCode === 'number' ? statusCode : undefined;
  }
  return undefined;
};

export const isNotFound = (error: unknown): boolean => statusCodeOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusCodeOf(error) === 409;
export const isPreconditionFailed = (error: unknown): boolean => statusCodeOf(error) === 412;

/** Runs a point read and answers undefined for 404. */
export async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const TRANSIENT_CODES = /^(ServerBusy|OperationTimedOut|InternalError|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EMFILE|ENFILE|EPIPE|REQUEST_SEND_ERROR)$/;

/**
 * Storage is throttling, failing on its side or out of reach (503 ServerBusy, 500, timeouts, refused or reset
 * connections, no file descriptors left): a passing condition, not a defect of the caller's request.
 */
export function isStorageTrouble(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const status = statusCodeOf(error);
  if (status === 500 || status === 503 || status === 408) return true;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && TRANSIENT_CODES.test(code)) return true;
  return status === undefined && (name === 'AbortError' || name === 'TimeoutError');
}

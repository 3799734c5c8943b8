/** Databricks-style error codes. One place maps each to its HTTP status. */
export const ERROR_STATUS = {
  MALFORMED_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  LENGTH_REQUIRED: 411,
  REQUEST_TOO_LARGE: 413,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  TARGET_UNREACHABLE: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.headers = headers;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const invalidParameter = (message: string): ApiError => new ApiError('INVALID_PARAMETER_VALUE', message);

/** A setting is missing, malformed or unresolved: every function answers 503 naming it, never its value (settings-guard.ts). */
export class ConfigError extends Error {
  readonly setting: string | undefined;

  constructor(message: string, setting?: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { type ErrorCode, isSamgitaError, REMEDIES } from '../errors.js';
import { PlannerBusyError } from '../planner/thread.js';

/** Stable error codes of the REST API: the shared ones plus HTTP-only ones. */
export type ApiErrorCode =
  | ErrorCode
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'REQUEST_TIMEOUT'
  | 'BUSY';

/** The one error body every route answers with. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; field?: string; hint?: string };
}

/** An error that already knows its HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new ApiError(404, 'NOT_FOUND', `${what} ${id} not found`);
export const conflict = (message: string, hint?: string) => new ApiError(409, 'CONFLICT', message, undefined, hint);
export const badInput = (field: string, message: string) => new ApiError(400, 'INVALID_INPUT', message, field);

interface FastifyValidationItem {
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
  validation?: FastifyValidationItem[];
  validationContext?: string;
}

function validationField(item: FastifyValidationItem): string {
  const path = (item.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = item.params?.missingProperty;
  if (typeof missing === 'string') return path ? `${path}.${missing}` : missing;
  const extra = item.params?.additionalProperty;
  if (typeof extra === 'string') return path ? `${path}.${extra}` : extra;
  return path;
}

/** Maps anything thrown in a handler to an HTTP status and the one error body. */
export function toApiError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof ApiError) {
    return {
      status: err.statusCode,
      body: {
        error: {
          code: err.code,
          message: err.message,
          ...(err.field ? { field: err.field } : {}),
          ...(err.hint ? { hint: err.hint } : {}),
        },
      },
    };
  }
  if (isSamgitaError(err)) {
    const field = err.location?.field;
    return {
      status: REMEDIES[err.code].http,
      body: {
        error: {
          code: err.code,
          message: err.message,
          ...(field ? { field } : {}),
          ...(err.hint ? { hint: err.hint } : {}),
        },
      },
    };
  }
  const e = err as FastifyLikeError;
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const first = e.validation[0]!;
    const field = validationField(first);
    const where = e.validationContext ?? 'body';
    const shown = field ? `${where}.${field}` : where;
    const unknown = typeof first.params?.additionalProperty === 'string';
    return {
      status: 400,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: unknown
            ? `${shown} is not a field of this request; see /openapi.json for the fields it takes`
            : `${shown} ${first.message ?? 'is invalid'}`,
          ...(field ? { field } : {}),
        },
      },
    };
  }
  if (err instanceof PlannerBusyError) {
    return { status: 503, body: { error: { code: 'BUSY', message: err.message, hint: 'retry after a few seconds' } } };
  }
  if (isPgDataException(err)) {
    // Defence in depth: input that slipped past validation and that PostgreSQL refuses is the client's fault.
    return {
      status: 400,
      body: { error: { code: 'INVALID_INPUT', message: 'a value in the request is malformed or out of range' } },
    };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) {
    return { status, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: e.message || 'request body too large' } } };
  }
  if (status === 415) {
    return { status, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: e.message } } };
  }
  if (status === 429) return { status, body: { error: { code: 'RATE_LIMITED', message: e.message } } };
  if (status >= 400 && status < 500) {
    return { status, body: { error: { code: 'INVALID_INPUT', message: e.message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal server error' } } };
}

/** PostgreSQL's class 22 (data exception: bad encoding, text representation, out of range) and 54 (too complex). */
function isPgDataException(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown; routine?: unknown };
  return (
    typeof e?.code === 'string' &&
    typeof e.severity === 'string' &&
    e.routine !== undefined &&
    (e.code.startsWith('22') || e.code.startsWith('54'))
  );
}

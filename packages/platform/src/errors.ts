/**
 * Error classes that carry their HTTP status and stable code; `createHttpApp`'s one `onError` renders
 * every one of them (and everything else) as the one `ErrorBody` of `@vehicles/contracts`.
 * Services throw these from anywhere (services and repositories never see HTTP context, only these).
 */
import type { ErrorBody, ErrorCode, ErrorDetail } from '@vehicles/contracts'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly ErrorDetail[],
    /** Extra response headers (e.g. Retry-After). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message)
  }
}

export class ValidationFailedError extends HttpError {
  override readonly name = 'ValidationFailedError'
  constructor(details: readonly ErrorDetail[], message = 'the request is invalid') {
    super(400, 'validation_failed', message, details)
  }
}

/** The body is not JSON. A 400 with rule `malformed_json`, never a 500. */
export class MalformedJsonError extends HttpError {
  override readonly name = 'MalformedJsonError'
  constructor(reason: string) {
    super(400, 'validation_failed', 'the body is not valid JSON', [
      { field: '', rule: 'malformed_json', message: reason },
    ])
  }
}

export class NotFoundError extends HttpError {
  override readonly name = 'NotFoundError'
  constructor(message = 'not found') {
    super(404, 'not_found', message)
  }
}

export class ConflictError extends HttpError {
  override readonly name = 'ConflictError'
  constructor(message: string, details?: readonly ErrorDetail[]) {
    super(409, 'conflict', message, details)
  }
}

export class PayloadTooLargeError extends HttpError {
  override readonly name = 'PayloadTooLargeError'
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `the body is larger than ${limitBytes} bytes`)
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  override readonly name = 'UnsupportedMediaTypeError'
  constructor(contentType: string | null) {
    super(
      415,
      'unsupported_media_type',
      `the body must be application/json${contentType ? ` (got ${contentType})` : ' (no Content-Type given)'}`,
    )
  }
}

/** A dependency is down (database, ...): the client should retry later. Never a 500. */
export class ServiceUnavailableError extends HttpError {
  override readonly name = 'ServiceUnavailableError'
  constructor(message: string, retryAfterSeconds = 1) {
    super(503, 'service_unavailable', message, undefined, { 'retry-after': String(retryAfterSeconds) })
  }
}

export function errorBody(
  code: ErrorCode,
  message: string,
  requestId?: string,
  details?: readonly ErrorDetail[],
): ErrorBody {
  const error: ErrorBody['error'] = { code, message }
  if (requestId !== undefined) error.requestId = requestId
  if (details !== undefined && details.length > 0) error.details = [...details]
  return { error }
}

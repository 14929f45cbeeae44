import { type Static, Type } from '@sinclair/typebox'

/** Stable machine-readable codes of the one HTTP error body. */
export const ERROR_CODES = [
  'validation_failed',
  'not_found',
  'conflict',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'service_unavailable',
  'internal',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/**
 * One failed rule. `field` is the property path without a leading slash, dots between levels
 * ("vin", "price.amount", "items.0.vin"; "" for the whole value); `rule` is the JSON Schema keyword
 * that failed ("pattern", "minimum", "required", "additionalProperties", "enum", "type", …).
 */
export const ErrorDetail = Type.Object(
  {
    field: Type.String(),
    rule: Type.String({ minLength: 1 }),
    message: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)
export type ErrorDetail = Static<typeof ErrorDetail>

/** The one JSON error shape of every HTTP service. A 500 never echoes internals in `message`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES] }),
        message: Type.String({ minLength: 1 }),
        requestId: Type.Optional(Type.String()),
        details: Type.Optional(Type.Array(ErrorDetail)),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'urn:vehicles:http:error-body', title: 'ErrorBody', additionalProperties: false },
)
export type ErrorBody = Static<typeof ErrorBody>

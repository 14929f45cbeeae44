/**
 * Elysia's own validation errors (routes that declare `body`/`query`/`params` schemas) as field + rule,
 * like the contracts' validator reports them: TypeBox numbers its error kinds, JSON Schema names them.
 */
import { ValueErrorType } from '@sinclair/typebox/errors'
import type { ErrorDetail } from '@vehicles/contracts'

const RULES: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.ObjectRequiredProperty]: 'required',
  [ValueErrorType.ObjectAdditionalProperties]: 'additionalProperties',
  [ValueErrorType.StringPattern]: 'pattern',
  [ValueErrorType.StringFormat]: 'format',
  [ValueErrorType.StringMinLength]: 'minLength',
  [ValueErrorType.StringMaxLength]: 'maxLength',
  [ValueErrorType.NumberMinimum]: 'minimum',
  [ValueErrorType.NumberMaximum]: 'maximum',
  [ValueErrorType.NumberExclusiveMinimum]: 'exclusiveMinimum',
  [ValueErrorType.NumberExclusiveMaximum]: 'exclusiveMaximum',
  [ValueErrorType.IntegerMinimum]: 'minimum',
  [ValueErrorType.IntegerMaximum]: 'maximum',
  [ValueErrorType.Integer]: 'type',
  [ValueErrorType.Number]: 'type',
  [ValueErrorType.String]: 'type',
  [ValueErrorType.Boolean]: 'type',
  [ValueErrorType.Object]: 'type',
  [ValueErrorType.Array]: 'type',
  [ValueErrorType.Null]: 'type',
  [ValueErrorType.Literal]: 'const',
  [ValueErrorType.Union]: 'anyOf',
  [ValueErrorType.ArrayMinItems]: 'minItems',
  [ValueErrorType.ArrayMaxItems]: 'maxItems',
}

export interface TypeBoxError {
  type?: number
  path?: string
  message?: string
}

/** One detail per error; `field` is the path without the leading slash, dots between levels. */
export function typeboxDetails(errors: readonly TypeBoxError[]): ErrorDetail[] {
  const details: ErrorDetail[] = []
  const seen = new Set<string>()
  for (const error of errors) {
    const field = (error.path ?? '').split('/').slice(1).join('.')
    const rule = (error.type !== undefined ? RULES[error.type as ValueErrorType] : undefined) ?? 'invalid'
    const key = `${field}\u0000${rule}`
    if (seen.has(key)) continue
    seen.add(key)
    details.push({ field, rule, message: error.message || 'is invalid' })
  }
  return details
}

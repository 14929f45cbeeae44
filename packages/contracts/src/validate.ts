import type { Static, TSchema } from '@sinclair/typebox'
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { fullFormats } from 'ajv-formats/dist/formats'
import { toJsonSchema } from './json-schema'
import { NAME_PATTERN, VIN_INPUT_PATTERN, VIN_PATTERN } from './schemas/common'

/** One broken rule: which field, which JSON Schema keyword, in words. */
export interface Violation {
  /** Property path without a leading slash, dots between levels: "vin", "price.amount"; "" = the whole value. */
  field: string
  /** The JSON Schema keyword that failed: "pattern", "required", "additionalProperties", "enum", … */
  rule: string
  message: string
}

/** A value broke its contract. Thrown by `assertValid`, the serde's encode and decode. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation'
  constructor(
    /** `$id` or subject of the schema that was broken. */
    readonly schema: string,
    readonly violations: readonly Violation[],
  ) {
    super(
      `${schema}: ${violations.map((v) => `${v.field || '(value)'}: ${v.message} [${v.rule}]`).join('; ')}`,
    )
  }
}

/**
 * One Ajv for the whole process: draft-07 (Ajv's default dialect, the one the generated files declare),
 * formats (uuid, date-time), every error rather than the first. `addUsedSchema: false` keeps compiled
 * schemas out of Ajv's `$id` table, so two versions of one subject (same `$id`) can both be compiled.
 */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, addUsedSchema: false })
  addFormats(ajv)
  // Narrowed to what Python's jsonschema checkers accept (the estimator validates the same events), so
  // both languages judge alike; the shared cases are in fixtures/format-cases.json.
  ajv.addFormat('uuid', UUID)
  ajv.addFormat('date-time', isDateTime)
  return ajv
}

/** RFC 4122 text form only (ajv-formats also takes a `urn:uuid:` prefix; Python does not). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** RFC 3339 with a `T` and a `±hh:mm` or `Z` offset, no leap second (ajv-formats also takes a space, `+hhmm`, `:60`). */
const DATE_TIME_SHAPE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:[0-5]\d(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/
const rfc3339 = fullFormats['date-time'] as { validate: (value: string) => boolean }
const isDateTime = (value: string): boolean => DATE_TIME_SHAPE.test(value) && rfc3339.validate(value)

const ajv = createAjv()
const compiled = new WeakMap<TSchema, ValidateFunction>()

/** Compiles a plain JSON Schema object (as read from a file or the registry). */
export function compileJsonSchema(schema: object): ValidateFunction {
  return ajv.compile(schema)
}

function validatorOf(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema)
  if (validate === undefined) {
    validate = ajv.compile(toJsonSchema(schema))
    compiled.set(schema, validate)
  }
  return validate
}

/** Words for the patterns of this package; Ajv would quote the pattern. */
const PATTERN_MESSAGES: Record<string, string> = {
  [NAME_PATTERN]:
    'must contain a visible character and no control character (U+0000-U+001F, U+007F-U+009F) or unpaired surrogate',
  [VIN_PATTERN]: 'must be 17 characters A-Z, 0-9 without I, O, Q, in upper case (ISO 3779)',
  [VIN_INPUT_PATTERN]: 'must be 17 characters A-Z, 0-9 without I, O, Q (ISO 3779)',
}

const join = (parent: string, child: string) => (parent === '' ? child : `${parent}.${child}`)

/** Maps Ajv's errors to field + rule, the field being where the fix goes (the missing or extra property). */
export function toViolations(errors: readonly ErrorObject[] | null | undefined): Violation[] {
  const out: Violation[] = []
  for (const error of errors ?? []) {
    // "/price/amount" → "price.amount"; JSON pointer escapes (~1 = "/", ~0 = "~") undone.
    const path = error.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .join('.')
    let field = path
    let message = error.message ?? 'is invalid'
    if (error.keyword === 'required') {
      field = join(path, String(error.params.missingProperty))
      message = 'is required'
    } else if (error.keyword === 'additionalProperties') {
      field = join(path, String(error.params.additionalProperty))
      message = 'is not allowed (unknown property)'
    } else if (error.keyword === 'pattern') {
      message = PATTERN_MESSAGES[String(error.params.pattern)] ?? message
    } else if (error.keyword === 'enum') {
      const allowed = (error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')
      message = `must be one of ${allowed}`
    }
    out.push({ field, rule: error.keyword, message })
  }
  return out
}

/** Every violation of `value` against `schema` (empty when valid). */
export function check(schema: TSchema, value: unknown): Violation[] {
  const validate = validatorOf(schema)
  return validate(value) ? [] : toViolations(validate.errors)
}

/** Throws `ContractViolation` naming every broken field and rule; narrows `value` otherwise. */
export function assertValid<T extends TSchema>(schema: T, value: unknown): asserts value is Static<T> {
  const violations = check(schema, value)
  if (violations.length > 0)
    throw new ContractViolation(String(schema.$id ?? schema.title ?? 'value'), violations)
}

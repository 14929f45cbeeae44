import { Type } from '@sinclair/typebox'

/**
 * Building blocks shared by the HTTP and event schemas. None of them carries an `$id`: only the
 * top-level schemas do, so a generated file never holds two schemas with the same id (Ajv refuses that).
 */

/** ISO 3779 VIN as stored and published: 17 characters, upper case, no I, O or Q. */
export const VIN_PATTERN = '^[A-HJ-NPR-Z0-9]{17}$'
/**
 * The same rule as accepted on input: lower case is accepted too, because people type VINs by hand;
 * the service upper-cases it (`normaliseVin`) before storing, so everything downstream sees upper case.
 */
export const VIN_INPUT_PATTERN = '^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$'
/**
 * Anchored patterns also get a `maxLength`: Python's `re` (which `jsonschema` uses) lets `$` match before a
 * final newline, so "…17 chars…\n" would pass in Python and fail in Ajv. The length bound makes both agree.
 */
export const VIN_LENGTH = 17

/** The first car (Benz Patent-Motorwagen, 1886). */
export const YEAR_MIN = 1886
/**
 * A fixed structural upper bound. The business rule is "at most next year", which moves every January;
 * a schema that changed with the calendar would make the committed files stale and the registered
 * subject drift, so the moving bound is checked at run time (`validateCreateVehicle`) instead.
 */
export const YEAR_MAX = 2999
export const ODOMETER_MAX = 2_000_000
export const NAME_MAX_LENGTH = 64

export const Uuid = () => Type.String({ format: 'uuid' })
export const DateTime = () => Type.String({ format: 'date-time' })

/**
 * Text rules are written with explicit character classes only: `\S`, `\s`, `\w` and `.` mean different
 * things in JavaScript (Ajv compiles patterns with the `u` flag) and in Python's `re` (the estimator's
 * `jsonschema` and `fastjsonschema`): U+0085 is a space to Python and a letter to JavaScript, U+2028 ends a
 * line for `.` in one and not the other. Escapes are `\uXXXX` only, which both engines read alike; no `$`
 * either (Python's also matches before a final newline, fastjsonschema rewrites it to `\Z`).
 *
 * Never in text: C0 controls, DEL, C1 controls (U+0085 among them), and surrogates. In a well-formed
 * string surrogates only come in pairs, which both engines read as one code point above U+FFFF; a
 * surrogate left alone is a broken string that PostgreSQL, UTF-8 encoders and Python's own encoder refuse.
 */
export const FORBIDDEN_CHARACTERS = '\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff'
/**
 * Allowed, but they do not make a name: Unicode white space (every `Zs` character, U+2028, U+2029) and
 * the invisible zero-width ones (U+200B..U+200D, U+2060, U+FEFF). `trimName` removes exactly these from
 * both ends, so a trimmed valid name is still valid.
 */
export const BLANK_CHARACTERS =
  '\\u0020\\u00a0\\u1680\\u2000-\\u200d\\u2028\\u2029\\u202f\\u205f\\u2060\\u3000\\ufeff'

/**
 * A name: no forbidden character anywhere (the lookahead scans the whole string without needing `$`),
 * and at least one character that is neither forbidden nor blank.
 */
export const NAME_PATTERN = `^(?![^${FORBIDDEN_CHARACTERS}]*[${FORBIDDEN_CHARACTERS}])[${BLANK_CHARACTERS}]*[^${BLANK_CHARACTERS}]`

const BLANK_EDGES = new RegExp(`^[${BLANK_CHARACTERS}]+|[${BLANK_CHARACTERS}]+$`, 'gu')
/** Removes blank characters (`BLANK_CHARACTERS`, not JavaScript's own `trim` set) from both ends. */
export const trimName = (name: string): string => name.replace(BLANK_EDGES, '')

/**
 * Length in code points, as JSON Schema's `maxLength` counts it (Ajv and Python agree: a pair of
 * surrogates is one character, a lone surrogate one too). `String.length` counts UTF-16 units.
 */
export const codePointLength = (text: string): number => {
  let length = 0
  for (const _ of text) length++
  return length
}

/** No forbidden character and at least one that is not blank; at most `NAME_MAX_LENGTH` code points. */
export const Name = (description: string) =>
  Type.String({ maxLength: NAME_MAX_LENGTH, pattern: NAME_PATTERN, description })

export const Year = () =>
  Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'model year, 1886 to next year' })

export const Odometer = () =>
  Type.Integer({ minimum: 0, maximum: ODOMETER_MAX, description: 'reading in odometerUnit' })

export const ODOMETER_UNITS = ['km', 'mi'] as const
export type OdometerUnit = (typeof ODOMETER_UNITS)[number]
/**
 * A plain `enum` rather than TypeBox's union of literals: a union becomes `anyOf` of `const`s, whose
 * validation errors are three vague lines instead of one `enum` rule naming the allowed values.
 */
export const OdometerUnit = () =>
  Type.Unsafe<OdometerUnit>({ type: 'string', enum: [...ODOMETER_UNITS], description: 'km or mi' })

/** Whole currency units (no cents: estimates are rounded), ISO 4217 code. */
export const priceShape = () =>
  Type.Object(
    {
      amount: Type.Integer({ minimum: 0, description: 'whole currency units' }),
      currency: Type.String({ pattern: '^[A-Z]{3}$', maxLength: 3, description: 'ISO 4217 code, e.g. EUR' }),
    },
    { additionalProperties: false },
  )

/**
 * NAME_PATTERN as OpenAPI documents carry it. Generators and validators built on Rust's regex engine
 * (schemathesis compiles patterns with jsonschema-rs) have no surrogates at all and reject a pattern that
 * names them, dropping the whole rule. The documents therefore carry the rule without the surrogate range
 * and say in words that unpaired surrogates are refused too; the JSON Schema files keep the full rule.
 */
export const NAME_PATTERN_OPENAPI = NAME_PATTERN.replaceAll('\\ud800-\\udfff', '')
const SURROGATES_IN_WORDS = 'Unpaired UTF-16 surrogates are refused as well (400, rule `pattern`).'

/** A deep copy of a JSON Schema for an OpenAPI document: name patterns as `NAME_PATTERN_OPENAPI`. */
export function forOpenApi<T>(schema: T): T {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (node === null || typeof node !== 'object') return node
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) out[key] = walk(value)
    if (out.pattern === NAME_PATTERN) {
      out.pattern = NAME_PATTERN_OPENAPI
      out.description = [out.description, SURROGATES_IN_WORDS].filter(Boolean).join('. ')
    }
    return out
  }
  return walk(JSON.parse(JSON.stringify(schema))) as T
}

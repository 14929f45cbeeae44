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

/** At least one non-space character: "non-empty after trim" (which also rules out ""). */
export const NOT_BLANK_PATTERN = '\\S'

/** Non-empty after trimming, bounded. */
export const Name = (description: string) =>
  Type.String({ maxLength: NAME_MAX_LENGTH, pattern: NOT_BLANK_PATTERN, description })

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

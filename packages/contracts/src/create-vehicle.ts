import { trimName, YEAR_MAX } from './schemas/common'
import { CreateVehicleBody } from './schemas/vehicle'
import { ContractViolation, check } from './validate'

/** ISO 3779 VINs are upper case; input may be typed in lower case. */
export const normaliseVin = (vin: string): string => vin.toUpperCase()

/** The newest model year accepted at `now`: next year (models are sold ahead of their year). */
export const maxModelYear = (now: Date = new Date()): number => Math.min(now.getUTCFullYear() + 1, YEAR_MAX)

/**
 * Validates a `POST /stock` body and returns it normalised (VIN upper case, names trimmed of blank characters).
 * The schema carries a fixed year bound; the moving one ("next year") is checked here and reported as
 * rule `maximum`, like any other schema rule. Throws `ContractViolation` listing every broken rule.
 */
export function parseCreateVehicle(value: unknown, now: Date = new Date()): CreateVehicleBody {
  const violations = check(CreateVehicleBody, value)
  const maxYear = maxModelYear(now)
  const year = (value as { year?: unknown } | null)?.year
  if (typeof year === 'number' && Number.isInteger(year) && year > maxYear) {
    if (!violations.some((v) => v.field === 'year')) {
      violations.push({ field: 'year', rule: 'maximum', message: `must be <= ${maxYear}` })
    }
  }
  if (violations.length > 0) throw new ContractViolation(String(CreateVehicleBody.$id), violations)
  const body = value as CreateVehicleBody
  return {
    vin: normaliseVin(body.vin),
    manufacturer: trimName(body.manufacturer),
    model: trimName(body.model),
    year: body.year,
    odometer: body.odometer,
    odometerUnit: body.odometerUnit,
  }
}

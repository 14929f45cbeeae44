/**
 * Builders of processed events for the tests of this package (not used at run time). Here, not in
 * packages/testing, because they build this package's own model (`ProcessedVehicle`) with its defaults.
 */
import type { ProcessedVehicle } from '../ads/model'

export interface EventOverrides {
  vehicleId?: string
  eventId?: string
  causationId?: string
  occurredAt?: string
  manufacturer?: string
  model?: string
  year?: number
  amount?: number
}

export function processedEvent(overrides: EventOverrides = {}): ProcessedVehicle {
  const vehicleId = overrides.vehicleId ?? crypto.randomUUID()
  const occurredAt = overrides.occurredAt ?? new Date().toISOString()
  return {
    eventId: overrides.eventId ?? crypto.randomUUID(),
    occurredAt,
    causationId: overrides.causationId ?? crypto.randomUUID(),
    vehicle: {
      id: vehicleId,
      vin: randomVin(),
      manufacturer: overrides.manufacturer ?? 'Renault',
      model: overrides.model ?? 'Clio',
      year: overrides.year ?? 2020,
      odometer: 42_000,
      odometerUnit: 'km',
      createdAt: '2026-11-25T09:00:00.000Z',
    },
    price: { amount: overrides.amount ?? 10_000, currency: 'EUR' },
    estimatedAt: occurredAt,
  }
}

/** `2026-11-25T10:00:00.000Z` plus `seconds`. */
export function at(seconds: number): string {
  return new Date(Date.UTC(2026, 10, 25, 10, 0, 0) + seconds * 1000).toISOString()
}

const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'

/** 17 characters of the ISO 3779 alphabet (no I, O, Q), as the contract requires. */
export function randomVin(): string {
  return Array.from({ length: 17 }, () => VIN_CHARS[Math.floor(Math.random() * VIN_CHARS.length)]).join('')
}

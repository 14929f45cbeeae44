/**
 * A `vehicle.created` event of the sample vehicle with fresh ids and the current time, for this package's
 * serde tests and bench. It stays here, not in packages/testing, because it is typed by this package's
 * own event schema.
 */
import { SAMPLE_VEHICLE } from '@vehicles/testing'
import type { VehicleCreatedEvent } from '../schemas/events'

export function freshCreatedEvent(): VehicleCreatedEvent {
  const now = new Date().toISOString()
  return {
    eventId: crypto.randomUUID(),
    occurredAt: now,
    vehicle: { id: crypto.randomUUID(), ...SAMPLE_VEHICLE, createdAt: now },
  }
}

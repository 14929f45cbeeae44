import type { Ad, VehicleProcessedEvent } from '@vehicles/contracts'

/** The processed event as the read model takes it (validated by the contracts' decoder). */
export type ProcessedVehicle = VehicleProcessedEvent

/**
 * How an ad is stored. One document per vehicle: `_id` is the vehicle id, so the database's own unique
 * index on `_id` is what makes "exactly one ad per vehicle" true whatever Kafka redelivers.
 */

export interface AdDocument {
  _id: string
  vin: string
  manufacturer: string
  model: string
  year: number
  odometer: number
  odometerUnit: Ad['odometerUnit']
  price: Ad['price']
  estimatedAt: string
  /** The processed event's `occurredAt`: a BSON date so "newest" sorts on an index. */
  updatedAt: Date
  /** `versionKey(occurredAt, eventId)` of the event this document holds; see version.ts. */
  version: string
  /** The event this document holds, for tracing an ad back to its message. */
  eventId: string
  /**
   * The created event that event answers (lower case). A processed event with the same causation is
   * a replay or a second answer to the same fact: a no-op, even when its version is newer. Absent on
   * ads written before the field existed (then only the version decides).
   */
  causationId?: string
  /**
   * When this service wrote the version the document holds (its own clock): with the event's times,
   * how long the pipeline took to make the ad visible, readable afterwards without watching for it.
   * Set when the write is sent (its acknowledgement follows within the write's duration); absent on ads
   * written before the field existed.
   */
  projectedAt?: Date
}

/** An ad as the API returns it (the contracts' `Ad`). */
export type AdView = Ad

export function toView(doc: AdDocument): AdView {
  return {
    vehicleId: doc._id,
    vin: doc.vin,
    manufacturer: doc.manufacturer,
    model: doc.model,
    year: doc.year,
    odometer: doc.odometer,
    odometerUnit: doc.odometerUnit,
    price: { amount: doc.price.amount, currency: doc.price.currency },
    estimatedAt: doc.estimatedAt,
    updatedAt: doc.updatedAt.toISOString(),
  }
}

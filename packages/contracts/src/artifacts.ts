import type { TSchema } from '@sinclair/typebox'
import { Ad } from './schemas/ad'
import { ErrorBody } from './schemas/error-body'
import { VehicleCreatedEvent, VehicleProcessedEvent } from './schemas/events'
import { CreateVehicleBody, Vehicle } from './schemas/vehicle'
import { subjectOf, TOPICS } from './topics'

/** One registry subject: the topic it belongs to and the schema of its values. */
export interface EventContract {
  topic: string
  subject: string
  schema: TSchema
  /** Path of the generated file, relative to the package root. */
  file: string
}

const event = (topic: string, schema: TSchema): EventContract => ({
  topic,
  subject: subjectOf(topic),
  schema,
  file: `schemas/${subjectOf(topic)}.json`,
})

/** Every event subject; `contracts:register` registers exactly these. */
export const EVENT_CONTRACTS: readonly EventContract[] = [
  event(TOPICS.vehicleCreated, VehicleCreatedEvent),
  event(TOPICS.vehicleProcessed, VehicleProcessedEvent),
]

/** Every generated file (package-relative path → schema). */
export const GENERATED_FILES: ReadonlyArray<{ file: string; schema: TSchema }> = [
  ...EVENT_CONTRACTS.map(({ file, schema }) => ({ file, schema })),
  { file: 'schemas/http/create-vehicle-body.json', schema: CreateVehicleBody },
  { file: 'schemas/http/vehicle.json', schema: Vehicle },
  { file: 'schemas/http/ad.json', schema: Ad },
  { file: 'schemas/http/error-body.json', schema: ErrorBody },
]

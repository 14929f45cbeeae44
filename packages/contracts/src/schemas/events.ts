import { type Static, Type } from '@sinclair/typebox'
import { DateTime, priceShape, Uuid } from './common'
import { vehicleShape } from './vehicle'

/** Value of `stock.vehicle-created`: a vehicle entered the stock. Self-contained (read as-is by Python). */
export const VehicleCreatedEvent = Type.Object(
  {
    eventId: Uuid(),
    occurredAt: DateTime(),
    vehicle: vehicleShape(),
  },
  {
    $id: 'urn:vehicles:event:stock.vehicle-created',
    title: 'VehicleCreatedEvent',
    additionalProperties: false,
  },
)
export type VehicleCreatedEvent = Static<typeof VehicleCreatedEvent>

/** Value of `stock.vehicle-processed`: the price estimate for one created event. */
export const VehicleProcessedEvent = Type.Object(
  {
    eventId: Uuid(),
    occurredAt: DateTime(),
    causationId: Type.String({ format: 'uuid', description: 'eventId of the created event this answers' }),
    vehicle: vehicleShape(),
    price: priceShape(),
    estimatedAt: DateTime(),
  },
  {
    $id: 'urn:vehicles:event:stock.vehicle-processed',
    title: 'VehicleProcessedEvent',
    additionalProperties: false,
  },
)
export type VehicleProcessedEvent = Static<typeof VehicleProcessedEvent>
export type Price = VehicleProcessedEvent['price']

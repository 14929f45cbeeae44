import { type Static, Type } from '@sinclair/typebox'
import { DateTime, priceShape } from './common'
import { vehicleShape } from './vehicle'

const vehicle = vehicleShape().properties

/** One item of `GET /ads`: the newest processed event of one vehicle, flattened. */
export const Ad = Type.Object(
  {
    vehicleId: vehicle.id,
    vin: vehicle.vin,
    manufacturer: vehicle.manufacturer,
    model: vehicle.model,
    year: vehicle.year,
    odometer: vehicle.odometer,
    odometerUnit: vehicle.odometerUnit,
    price: priceShape(),
    estimatedAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'urn:vehicles:http:ad', title: 'Ad', additionalProperties: false },
)
export type Ad = Static<typeof Ad>

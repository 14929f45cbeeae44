import { type Static, Type } from '@sinclair/typebox'
import {
  DateTime,
  Name,
  Odometer,
  OdometerUnit,
  Uuid,
  VIN_INPUT_PATTERN,
  VIN_LENGTH,
  VIN_PATTERN,
  Year,
} from './common'

/** Body of `POST /stock`. The VIN may be typed in lower case; the service stores it upper-cased. */
export const CreateVehicleBody = Type.Object(
  {
    vin: Type.String({
      pattern: VIN_INPUT_PATTERN,
      maxLength: VIN_LENGTH,
      description: 'ISO 3779 VIN, any case',
    }),
    manufacturer: Name('manufacturer, non-empty after trim'),
    model: Name('model, non-empty after trim'),
    year: Year(),
    odometer: Odometer(),
    odometerUnit: OdometerUnit(),
  },
  { $id: 'urn:vehicles:http:create-vehicle-body', title: 'CreateVehicleBody', additionalProperties: false },
)
export type CreateVehicleBody = Static<typeof CreateVehicleBody>

/** The vehicle's own fields, as stored and published (no `$id`: it is embedded in events). */
export const vehicleShape = () =>
  Type.Object(
    {
      id: Uuid(),
      vin: Type.String({
        pattern: VIN_PATTERN,
        maxLength: VIN_LENGTH,
        description: 'ISO 3779 VIN, upper case',
      }),
      manufacturer: Name('manufacturer, trimmed'),
      model: Name('model, trimmed'),
      year: Year(),
      odometer: Odometer(),
      odometerUnit: OdometerUnit(),
      createdAt: DateTime(),
    },
    { additionalProperties: false },
  )

/** The stored row, as `vehicles-stock` returns it. */
export const Vehicle = Type.Object(vehicleShape().properties, {
  $id: 'urn:vehicles:http:vehicle',
  title: 'Vehicle',
  additionalProperties: false,
})
export type Vehicle = Static<typeof Vehicle>

export { EVENT_CONTRACTS, type EventContract, GENERATED_FILES } from './artifacts'
export { DRAFT_07, toJsonSchema, toJsonSchemaText } from './json-schema'
export { Ad } from './schemas/ad'
export {
  NAME_MAX_LENGTH,
  ODOMETER_MAX,
  ODOMETER_UNITS,
  type OdometerUnit,
  VIN_INPUT_PATTERN,
  VIN_PATTERN,
  YEAR_MAX,
  YEAR_MIN,
} from './schemas/common'
export { ERROR_CODES, ErrorBody, type ErrorCode, ErrorDetail } from './schemas/error-body'
export { type Price, VehicleCreatedEvent, VehicleProcessedEvent } from './schemas/events'
export { CreateVehicleBody, Vehicle } from './schemas/vehicle'
export { dlqTopic, subjectOf, TOPICS, type Topic } from './topics'

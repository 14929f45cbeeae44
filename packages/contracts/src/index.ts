/** @vehicles/contracts: the one seam between the services. See README.md. */
export { EVENT_CONTRACTS, type EventContract, GENERATED_FILES } from './artifacts'
export { ASYNCAPI_DOCUMENT_PATH } from './asyncapi/file'
export { maxModelYear, normaliseVin, parseCreateVehicle } from './create-vehicle'
export {
  ContractMismatchError,
  RegistryRefusedError,
  RegistryUnavailableError,
  UnknownSchemaError,
  WireFormatError,
} from './errors'
export { DRAFT_07, toJsonSchema, toJsonSchemaText } from './json-schema'
export { nameFilter, type ParamProblem, type QueryParamReader, queryParamReader } from './query-params'
export { eventRegistrations, type Registration, type RegistrationResult, registerAll } from './register'
export {
  type Compatibility,
  DEFAULT_RETRY,
  RegistryClient,
  type RegistryClientOptions,
  type RetryPolicy,
} from './registry-client'
export { Ad } from './schemas/ad'
export {
  BLANK_CHARACTERS,
  codePointLength,
  FORBIDDEN_CHARACTERS,
  forOpenApi,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  NAME_PATTERN_OPENAPI,
  ODOMETER_MAX,
  ODOMETER_UNITS,
  type OdometerUnit,
  trimName,
  VIN_INPUT_PATTERN,
  VIN_PATTERN,
  YEAR_MAX,
  YEAR_MIN,
} from './schemas/common'
export { ERROR_CODES, ErrorBody, type ErrorCode, ErrorDetail } from './schemas/error-body'
export { type Price, VehicleCreatedEvent, VehicleProcessedEvent } from './schemas/events'
export { CreateVehicleBody, Vehicle } from './schemas/vehicle'
export {
  type BoundContract,
  type ConnectOptions,
  type Contracts,
  connectContracts,
  type EventTopic,
  type EventValues,
  STARTUP_RETRY,
} from './serde'
export {
  dlqTopic,
  subjectOf,
  TOPIC_DEFINITION,
  TOPICS,
  TOPICS_FILE,
  type Topic,
  type TopicSettings,
  type TopicsDefinition,
  topicSettings,
} from './topics'
export { assertValid, ContractViolation, check, compileJsonSchema, type Violation } from './validate'
export { decodeWire, encodeWire, MAGIC_BYTE, parseJsonPayload, type WireRecord } from './wire'

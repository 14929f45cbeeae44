/**
 * Typed serde failures, so a consumer can route a record to its DLQ with a reason (`reason` is a stable
 * word for the `dlq-reason` header) and a producer can tell "retry later" from "this message is wrong".
 * `ContractViolation` (validate.ts) is the fourth one.
 */

/** Bytes that are not the Confluent wire format (too short, wrong magic byte, not JSON). */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError'
  readonly reason = 'wire-format'
}

/** The schema id in the header is not known to the registry. */
export class UnknownSchemaError extends Error {
  override readonly name = 'UnknownSchemaError'
  readonly reason = 'unknown-schema'
  constructor(readonly schemaId: number) {
    super(`schema id ${schemaId} is not known to the registry`)
  }
}

/** The registry is down, or answered something that is not the registry's JSON (an nginx error page). */
export class RegistryUnavailableError extends Error {
  override readonly name = 'RegistryUnavailableError'
  readonly reason = 'registry-unavailable'
  constructor(
    message: string,
    /** How many attempts were made before giving up. */
    readonly attempts: number,
    override readonly cause?: unknown,
  ) {
    super(message)
  }
}

/** The registry answered, and said no (incompatible schema, subject missing, schema invalid). */
export class RegistryRefusedError extends Error {
  override readonly name = 'RegistryRefusedError'
  readonly reason = 'registry-refused'
  constructor(
    message: string,
    readonly status: number,
    /** Confluent error code when the registry gave one (40401 subject not found, 409 incompatible, …). */
    readonly errorCode?: number,
  ) {
    super(message)
  }
}

/** At start: the schema a service was built with is not registered (or differs). The service must not start. */
export class ContractMismatchError extends Error {
  override readonly name = 'ContractMismatchError'
}

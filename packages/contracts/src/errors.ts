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

/** A registry call that failed; `reason` tells "retry later" (unavailable) from "this is wrong" (refused). */
abstract class RegistryError extends Error {
  abstract override readonly name: string
  constructor(
    message: string,
    readonly reason: 'registry-unavailable' | 'registry-refused',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
  }
}

/** The registry is down, or answered something that is not the registry's JSON (an nginx error page). */
export class RegistryUnavailableError extends RegistryError {
  override readonly name = 'RegistryUnavailableError'
  /** `attempts`: how many were made before giving up. */
  constructor(
    message: string,
    readonly attempts: number,
    cause?: unknown,
  ) {
    super(message, 'registry-unavailable', cause)
  }
}

/** The registry answered, and said no (incompatible schema, subject missing, schema invalid). */
export class RegistryRefusedError extends RegistryError {
  override readonly name = 'RegistryRefusedError'
  /** `errorCode`: Confluent's, when the registry gave one (40401 subject not found, 409 incompatible, …). */
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode?: number,
  ) {
    super(message, 'registry-refused')
  }
}

/** At start: the schema a service was built with is not registered (or differs). The service must not start. */
export class ContractMismatchError extends Error {
  override readonly name = 'ContractMismatchError'
}

/** Which decode failures are poison (dead-letter them) and which are outages (retry the message). */
import { ContractViolation, UnknownSchemaError, WireFormatError } from '@vehicles/contracts'
import type { PoisonReason } from './projector'

export function poisonReason(error: unknown): Exclude<PoisonReason, 'unprojectable'> | undefined {
  if (error instanceof WireFormatError) return 'wire-format'
  if (error instanceof UnknownSchemaError) return 'unknown-schema'
  if (error instanceof ContractViolation) return 'contract-violation'
  // RegistryUnavailableError and anything unexpected: not the message's fault, try it again later.
  return undefined
}

/** The event passed its contract but the read model cannot order it (see ads/version.ts). */
export function isUnprojectable(error: unknown): boolean {
  return error instanceof RangeError
}

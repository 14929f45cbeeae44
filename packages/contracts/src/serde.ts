import type { TSchema } from '@sinclair/typebox'
import type { ValidateFunction } from 'ajv'
import { EVENT_CONTRACTS, type EventContract } from './artifacts'
import { ContractMismatchError, UnknownSchemaError } from './errors'
import { toJsonSchemaText } from './json-schema'
import { RegistryClient, type RegistryClientOptions, type RetryPolicy } from './registry-client'
import type { VehicleCreatedEvent, VehicleProcessedEvent } from './schemas/events'
import { TOPICS } from './topics'
import { ContractViolation, check, compileJsonSchema, toViolations } from './validate'
import { decodeWire, encodeWire, parseJsonPayload } from './wire'

/** The value type of each event topic. */
export interface EventValues {
  [TOPICS.vehicleCreated]: VehicleCreatedEvent
  [TOPICS.vehicleProcessed]: VehicleProcessedEvent
}
export type EventTopic = keyof EventValues

export interface ConnectOptions extends Omit<RegistryClientOptions, 'url'> {
  registryUrl: string
  /** The subjects this service writes or reads; all event subjects by default. */
  contracts?: readonly EventContract[]
  /** Retries of the start-up lookups; more patient than `retry` (a registry may still be starting). */
  startupRetry?: Partial<RetryPolicy>
}

/** About 25 s of patience at start (10 attempts, doubling to 5 s), then a clear error instead of a loop. */
export const STARTUP_RETRY: RetryPolicy = {
  attempts: 10,
  initialDelayMs: 200,
  maxDelayMs: 5000,
  timeoutMs: 5000,
}

/** What one subject resolved to at start. */
export interface BoundContract extends EventContract {
  schemaId: number
  version: number
}

/** Encoder/decoder bound to the registered ids of the schemas this build carries. */
export interface Contracts {
  /** Validates and encodes to the wire format; throws `ContractViolation` naming field and rule. */
  encode<T extends EventTopic>(topic: T, value: EventValues[T]): Buffer
  /**
   * Decodes a record value written to `topic`. Throws `WireFormatError` (not wire format / not JSON),
   * `UnknownSchemaError` (id not in the registry), `ContractViolation` (breaks its schema) — all three
   * are for the DLQ — or `RegistryUnavailableError` (retry later, do not DLQ).
   */
  decode<T extends EventTopic>(topic: T, value: Uint8Array | null | undefined): Promise<EventValues[T]>
  /** Registered id and version of each subject, for logs and health. */
  readonly bound: readonly BoundContract[]
  readonly registry: RegistryClient
}

/**
 * Looks up, by content, the registered id of every subject this build carries (`POST /subjects/{subject}`).
 * Rejects with `ContractMismatchError` when a schema is not registered (never registered, or the build's
 * schema differs from every registered version): a service must then refuse to start, with this message.
 */
export async function connectContracts(options: ConnectOptions): Promise<Contracts> {
  const registry = new RegistryClient({ ...options, url: options.registryUrl })
  const startup = new RegistryClient({
    ...options,
    url: options.registryUrl,
    retry: { ...STARTUP_RETRY, ...options.startupRetry },
  })
  const contracts = options.contracts ?? EVENT_CONTRACTS
  const bound: BoundContract[] = []
  for (const contract of contracts) {
    const found = await startup.lookup(contract.subject, toJsonSchemaText(contract.schema))
    if (found === null) {
      const known = await startup.subjects()
      const why = known.includes(contract.subject)
        ? `no registered version of ${contract.subject} equals the schema this build carries (${contract.file}): the build is out of step with the registry`
        : `subject ${contract.subject} is not registered`
      throw new ContractMismatchError(`${why}; run \`bun run contracts:register\` against ${registry.url}`)
    }
    bound.push({ ...contract, schemaId: found.id, version: found.version })
  }
  return new BoundContracts(registry, bound)
}

class BoundContracts implements Contracts {
  private readonly byTopic = new Map<string, BoundContract>()
  /** Writer schemas fetched by id (older or newer versions); a failed fetch is not cached. */
  private readonly writers = new Map<number, Promise<ValidateFunction>>()

  constructor(
    readonly registry: RegistryClient,
    readonly bound: readonly BoundContract[],
  ) {
    for (const contract of bound) this.byTopic.set(contract.topic, contract)
  }

  private contract(topic: string): BoundContract {
    const contract = this.byTopic.get(topic)
    if (contract === undefined) throw new Error(`no contract bound for topic ${topic}`)
    return contract
  }

  encode<T extends EventTopic>(topic: T, value: EventValues[T]): Buffer {
    const contract = this.contract(topic)
    const violations = check(contract.schema, value)
    if (violations.length > 0) throw new ContractViolation(contract.subject, violations)
    return encodeWire(contract.schemaId, Buffer.from(JSON.stringify(value), 'utf8'))
  }

  async decode<T extends EventTopic>(
    topic: T,
    value: Uint8Array | null | undefined,
  ): Promise<EventValues[T]> {
    const contract = this.contract(topic)
    const { schemaId, payload } = decodeWire(value)
    const data = parseJsonPayload(payload)
    if (schemaId === contract.schemaId) {
      // The common case: written with the schema this build carries; no registry round trip.
      const violations = check(contract.schema, data)
      if (violations.length > 0) throw new ContractViolation(contract.subject, violations)
      return data as EventValues[T]
    }
    // Another version of the subject (BACKWARD: this reader accepts what older writers wrote):
    // validate against the writer's own schema, as registered.
    const validate = await this.writer(schemaId, contract.schema)
    if (!validate(data)) throw new ContractViolation(contract.subject, toViolations(validate.errors))
    return data as EventValues[T]
  }

  private writer(schemaId: number, expected: TSchema): Promise<ValidateFunction> {
    let pending = this.writers.get(schemaId)
    if (pending === undefined) {
      pending = this.fetchWriter(schemaId, expected)
      this.writers.set(schemaId, pending)
      // Unknown ids and foreign schemas stay cached (a poison pill must not hit the registry per record);
      // anything else (registry down, odd answer) is forgotten so the next record tries again.
      pending.catch((error: unknown) => {
        if (!(error instanceof UnknownSchemaError || error instanceof ContractViolation)) {
          this.writers.delete(schemaId)
        }
      })
    }
    return pending
  }

  private async fetchWriter(schemaId: number, expected: TSchema): Promise<ValidateFunction> {
    const text = await this.registry.schemaById(schemaId)
    if (text === null) throw new UnknownSchemaError(schemaId)
    const schema = JSON.parse(text) as { $id?: unknown }
    // Every version of a subject keeps its `$id`; another id means a record of another subject.
    if (schema.$id !== expected.$id) {
      throw new ContractViolation(String(expected.$id), [
        {
          field: '',
          rule: '$id',
          message: `written with schema ${schemaId} (${String(schema.$id)}), expected ${String(expected.$id)}`,
        },
      ])
    }
    return compileJsonSchema(schema)
  }
}

/**
 * The stock use cases, free of HTTP: create a vehicle (validated by the contracts, stored with its
 * `stock.vehicle-created` event in the outbox, idempotent by key), read one, list a page.
 */
import { createHash } from 'node:crypto'
import {
  ContractViolation,
  parseCreateVehicle,
  TOPICS,
  type Vehicle,
  type VehicleCreatedEvent,
} from '@vehicles/contracts'
import { ConflictError, HttpError, NotFoundError, ValidationFailedError } from '@vehicles/platform'
import { isUniqueViolation } from '../db/errors'
import { outboxEntry } from '../outbox/enqueue'
import { encodeCursor, type ListQuery } from './model'
import type { VehicleRepository } from './repository'

export interface CreateResult {
  status: number
  vehicle: Vehicle
  /** True when this is the stored answer to an earlier request with the same Idempotency-Key. */
  replayed: boolean
}

export interface Page {
  items: Vehicle[]
  nextCursor: string | null
}

/** The same key reused for another body: the client has a bug; tell it rather than guess. */
export class IdempotencyKeyReusedError extends HttpError {
  override readonly name = 'IdempotencyKeyReusedError'
  constructor() {
    super(422, 'validation_failed', 'this Idempotency-Key was already used with a different body', [
      { field: 'Idempotency-Key', rule: 'idempotency', message: 'already used with a different body' },
    ])
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

export interface VehicleServiceOptions {
  now?: () => Date
  newId?: () => string
}

function checkIdempotencyKey(key: string | undefined): void {
  if (key === undefined || IDEMPOTENCY_KEY.test(key)) return
  throw new ValidationFailedError([
    { field: 'Idempotency-Key', rule: 'pattern', message: 'must be 1 to 255 visible ASCII characters' },
  ])
}

/** The body as the contract reads it; a violation is a 400 naming each field and rule. */
function parseBody(body: unknown, now: Date): ReturnType<typeof parseCreateVehicle> {
  try {
    return parseCreateVehicle(body, now)
  } catch (error) {
    if (error instanceof ContractViolation) throw new ValidationFailedError(error.violations)
    throw error
  }
}

/** The vehicle and the outbox entry of its created event, written together. */
function newVehicle(input: ReturnType<typeof parseCreateVehicle>, id: string, at: Date) {
  const createdAt = at.toISOString()
  const vehicle: Vehicle = { id, ...input, createdAt }
  const event: VehicleCreatedEvent = { eventId: crypto.randomUUID(), occurredAt: createdAt, vehicle }
  const entry = outboxEntry({
    topic: TOPICS.vehicleCreated,
    aggregateType: 'vehicle',
    aggregateId: vehicle.id,
    eventId: event.eventId,
    payload: event,
  })
  return { vehicle, entry }
}

export function createVehicleService(repository: VehicleRepository, options: VehicleServiceOptions = {}) {
  const now = options.now ?? (() => new Date())
  // UUID v7: time-ordered, so the primary key is also the listing order and the cursor.
  const newId = options.newId ?? (() => Bun.randomUUIDv7())

  const replay = async (key: string, requestHash: string): Promise<CreateResult | undefined> => {
    const stored = await repository.findIdempotency(key)
    if (stored === undefined) return undefined
    if (stored.requestHash !== requestHash) throw new IdempotencyKeyReusedError()
    return { status: stored.status, vehicle: stored.body as Vehicle, replayed: true }
  }

  return {
    async create(body: unknown, idempotencyKey?: string): Promise<CreateResult> {
      checkIdempotencyKey(idempotencyKey)
      const input = parseBody(body, now())
      const requestHash =
        idempotencyKey === undefined ? '' : createHash('sha256').update(JSON.stringify(input)).digest('hex')
      if (idempotencyKey !== undefined) {
        const earlier = await replay(idempotencyKey, requestHash)
        if (earlier !== undefined) return earlier
      }

      const { vehicle, entry } = newVehicle(input, newId(), now())
      const idempotency =
        idempotencyKey === undefined
          ? undefined
          : { key: idempotencyKey, requestHash, status: 201, body: vehicle }
      let outcome: Awaited<ReturnType<VehicleRepository['insert']>>
      try {
        outcome = await repository.insert(vehicle, entry, idempotency)
      } catch (error) {
        // A concurrent request with the same key won the race: answer what it stored.
        if (idempotencyKey !== undefined && isUniqueViolation(error, 'idempotency_keys_pkey')) {
          const earlier = await replay(idempotencyKey, requestHash)
          if (earlier !== undefined) return earlier
        }
        throw error
      }
      if (outcome === 'duplicate_vin') {
        // A concurrent retry with the same key (hence the same VIN) may have stored it first.
        if (idempotencyKey !== undefined) {
          const earlier = await replay(idempotencyKey, requestHash)
          if (earlier !== undefined) return earlier
        }
        throw new ConflictError(`a vehicle with VIN ${input.vin} is already in stock`, [
          { field: 'vin', rule: 'unique', message: 'is already in stock' },
        ])
      }
      return { status: 201, vehicle, replayed: false }
    },

    async get(id: string): Promise<Vehicle> {
      const vehicle = await repository.findById(id)
      if (vehicle === undefined) throw new NotFoundError(`no vehicle ${id} in stock`)
      return vehicle
    },

    async list(query: ListQuery): Promise<Page> {
      const rows = await repository.list(query)
      const items = rows.slice(0, query.limit)
      const last = items.at(-1)
      return {
        items,
        nextCursor: rows.length > query.limit && last !== undefined ? encodeCursor(last.id) : null,
      }
    },
  }
}

export type VehicleService = ReturnType<typeof createVehicleService>

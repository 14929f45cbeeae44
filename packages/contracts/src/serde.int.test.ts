import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { uniqueName } from '@vehicles/testing'
import { EVENT_CONTRACTS, type EventContract } from './artifacts'
import { UnknownSchemaError } from './errors'
import { toJsonSchemaText } from './json-schema'
import { type RegistrationResult, registerAll } from './register'
import type { RegistryClient } from './registry-client'
import type { VehicleProcessedEvent } from './schemas/events'
import { type Contracts, connectContracts } from './serde'
import { freshCreatedEvent } from './testing/created-event'
import { dropSubject, liveRegistry } from './testing/registry'
import { TOPICS } from './topics'
import { ContractViolation, createAjv } from './validate'
import { encodeWire } from './wire'

/**
 * Against the real registry behind nginx (`.stack/stack.env`). The schemas are the real ones, the subjects
 * are throwaway (`test-serde-…-stock.vehicle-created-value`), so the real subjects are never touched.
 */
const prefix = uniqueName('serde')
const contracts: EventContract[] = EVENT_CONTRACTS.map((c) => ({ ...c, subject: `${prefix}-${c.subject}` }))

const created = freshCreatedEvent()
const processed: VehicleProcessedEvent = {
  eventId: crypto.randomUUID(),
  occurredAt: new Date().toISOString(),
  causationId: created.eventId,
  vehicle: created.vehicle,
  price: { amount: 4200, currency: 'EUR' },
  estimatedAt: new Date().toISOString(),
}

let url = ''
let client: RegistryClient
let registered: RegistrationResult[] = []
let serde: Contracts

beforeAll(async () => {
  ;({ url, client } = await liveRegistry())
  registered = await registerAll(
    client,
    contracts.map(({ subject, schema }) => ({ subject, schema: toJsonSchemaText(schema) })),
  )
  serde = await connectContracts({ registryUrl: url, contracts })
})

afterAll(async () => {
  if (client) for (const { subject } of contracts) await dropSubject(client, subject)
})

const idOf = (topic: string) => {
  const subject = contracts.find((c) => c.topic === topic)?.subject
  const id = registered.find((r) => r.subject === subject)?.id
  if (id === undefined)
    throw new Error(`no registered id for ${topic}; registered: ${JSON.stringify(registered)}`)
  return id
}

async function thrown(fn: () => unknown): Promise<Error> {
  try {
    await fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected an error')
}

describe('serde through the registry behind nginx', () => {
  test('registration is idempotent: same ids, no new version, subject reports BACKWARD', async () => {
    const again = await registerAll(
      client,
      contracts.map(({ subject, schema }) => ({ subject, schema: toJsonSchemaText(schema) })),
    )
    expect(again.map((r) => [r.subject, r.id, r.version, r.created])).toEqual(
      registered.map((r) => [r.subject, r.id, r.version, false]),
    )
    for (const { subject } of contracts) {
      expect(await client.request('GET', `/subjects/${encodeURIComponent(subject)}/versions`)).toEqual([1])
      expect(await client.compatibility(subject)).toBe('BACKWARD')
    }
  })

  test('round trip: magic 0, the registered id, decode equals the input', async () => {
    const bytes = serde.encode(TOPICS.vehicleCreated, created)
    expect(bytes[0]).toBe(0)
    expect(bytes.readInt32BE(1)).toBe(idOf(TOPICS.vehicleCreated))
    expect(await serde.decode(TOPICS.vehicleCreated, bytes)).toEqual(created)

    const other = serde.encode(TOPICS.vehicleProcessed, processed)
    expect(other.readInt32BE(1)).toBe(idOf(TOPICS.vehicleProcessed))
    expect(await serde.decode(TOPICS.vehicleProcessed, other)).toEqual(processed)
  })

  test('a message that breaks the schema is refused at encode, naming field and rule', () => {
    const bad = { ...created, vehicle: { ...created.vehicle, vin: 'vin', year: 1700 } }
    let error: unknown
    try {
      serde.encode(TOPICS.vehicleCreated, bad)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ContractViolation)
    expect((error as ContractViolation).violations.map((v) => [v.field, v.rule])).toEqual([
      ['vehicle.vin', 'pattern'],
      ['vehicle.year', 'minimum'],
    ])
  })

  test('a hand-made bad message (valid header, registered id) is refused at decode, naming the field', async () => {
    const value = { ...processed, price: { amount: 12.5, currency: 'EUR' } }
    const bytes = encodeWire(idOf(TOPICS.vehicleProcessed), Buffer.from(JSON.stringify(value)))
    const error = await thrown(() => serde.decode(TOPICS.vehicleProcessed, bytes))
    expect(error).toBeInstanceOf(ContractViolation)
    expect((error as ContractViolation).violations).toEqual([
      { field: 'price.amount', rule: 'type', message: 'must be integer' },
    ])
  })

  test('an id the registry does not know is UnknownSchemaError', async () => {
    const bytes = encodeWire(2_000_000_000, Buffer.from(JSON.stringify(created)))
    expect(await thrown(() => serde.decode(TOPICS.vehicleCreated, bytes))).toBeInstanceOf(UnknownSchemaError)
  })

  test('the bytes are the ones a stock Confluent client reads and writes', async () => {
    const stock = new SchemaRegistry({ host: url }, { JSON: { ajvInstance: createAjv() } })
    expect(await stock.decode(serde.encode(TOPICS.vehicleCreated, created))).toEqual(created)
    const theirs = await stock.encode(idOf(TOPICS.vehicleProcessed), processed)
    expect(await serde.decode(TOPICS.vehicleProcessed, theirs)).toEqual(processed)
  })
})

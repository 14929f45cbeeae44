import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { SAMPLE_VEHICLE } from '@vehicles/testing'
import { EVENT_CONTRACTS } from './artifacts'
import {
  ContractMismatchError,
  RegistryUnavailableError,
  UnknownSchemaError,
  WireFormatError,
} from './errors'
import { startFakeRegistry } from './fake-registry'
import { toJsonSchemaText } from './json-schema'
import { VehicleCreatedEvent, type VehicleProcessedEvent } from './schemas/events'
import { type Contracts, connectContracts } from './serde'
import { TOPICS } from './topics'
import { ContractViolation } from './validate'
import { encodeWire } from './wire'

const fake = startFakeRegistry()
afterAll(() => fake.stop())
for (const { subject, schema } of EVENT_CONTRACTS) fake.add(subject, toJsonSchemaText(schema))

const retry = { attempts: 2, initialDelayMs: 5, maxDelayMs: 10, timeoutMs: 1000 }
const startupRetry = retry

const created: VehicleCreatedEvent = {
  eventId: '0b8f7c9e-3f5e-4a43-9a52-5f1f2d3c4b5a',
  occurredAt: '2026-11-25T10:00:00.000Z',
  vehicle: {
    id: '6f1c2b7e-9d3a-4c1e-8b2f-1a2b3c4d5e6f',
    ...SAMPLE_VEHICLE,
    createdAt: '2026-11-25T10:00:00.000Z',
  },
}
const processed: VehicleProcessedEvent = {
  eventId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
  occurredAt: '2026-11-25T10:00:01.000Z',
  causationId: created.eventId,
  vehicle: created.vehicle,
  price: { amount: 14250, currency: 'EUR' },
  estimatedAt: '2026-11-25T10:00:01.000Z',
}

/** Resolves to what `fn` throws (fails the test when it does not throw). */
async function thrown(fn: () => unknown): Promise<Error> {
  try {
    await fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected an error')
}

describe('serde against a fake registry', () => {
  let contracts: Contracts
  let createdId = -1
  beforeAll(async () => {
    contracts = await connectContracts({ registryUrl: fake.url, retry, startupRetry })
    createdId = contracts.bound.find((c) => c.topic === TOPICS.vehicleCreated)?.schemaId ?? -1
  })

  test('binds every event subject to its registered id at start', () => {
    expect(contracts.bound.map((c) => [c.subject, c.version])).toEqual([
      ['stock.vehicle-created-value', 1],
      ['stock.vehicle-processed-value', 1],
    ])
  })

  test('round trip: wire header with magic 0 and the bound id, value back equal', async () => {
    const bytes = contracts.encode(TOPICS.vehicleCreated, created)
    expect(bytes[0]).toBe(0)
    expect(bytes.readInt32BE(1)).toBe(createdId)
    expect(JSON.parse(bytes.subarray(5).toString('utf8'))).toEqual(created)
    expect(await contracts.decode(TOPICS.vehicleCreated, bytes)).toEqual(created)
    const other = contracts.encode(TOPICS.vehicleProcessed, processed)
    expect(await contracts.decode(TOPICS.vehicleProcessed, other)).toEqual(processed)
  })

  test('encode refuses a value that breaks the schema, naming field and rule', async () => {
    const bad = {
      ...processed,
      price: { amount: -1, currency: 'eur' },
      extra: true,
    } as unknown as VehicleProcessedEvent
    const error = await thrown(() => contracts.encode(TOPICS.vehicleProcessed, bad))
    expect(error).toBeInstanceOf(ContractViolation)
    expect((error as ContractViolation).violations.map((v) => [v.field, v.rule])).toEqual([
      ['extra', 'additionalProperties'],
      ['price.amount', 'minimum'],
      ['price.currency', 'pattern'],
    ])
    expect(error.message).toContain('stock.vehicle-processed-value')
  })

  test('decode refuses a hand-made record that breaks the schema, naming the field', async () => {
    const value = { ...created, vehicle: { ...created.vehicle, vin: 'vin', odometerUnit: 'odometerUnit' } }
    const bytes = encodeWire(createdId, Buffer.from(JSON.stringify(value)))
    const error = await thrown(() => contracts.decode(TOPICS.vehicleCreated, bytes))
    expect(error).toBeInstanceOf(ContractViolation)
    expect((error as ContractViolation).violations.map((v) => v.field).sort()).toEqual([
      'vehicle.odometerUnit',
      'vehicle.vin',
    ])
  })

  test('decode: bad bytes → WireFormatError; unknown id → UnknownSchemaError', async () => {
    expect(
      await thrown(() => contracts.decode(TOPICS.vehicleCreated, Buffer.from('{"a":1}'))),
    ).toBeInstanceOf(WireFormatError)
    const unknown = await thrown(() =>
      contracts.decode(TOPICS.vehicleCreated, encodeWire(4242, Buffer.from(JSON.stringify(created)))),
    )
    expect(unknown).toBeInstanceOf(UnknownSchemaError)
    expect((unknown as UnknownSchemaError).schemaId).toBe(4242)
  })

  test('decode validates an older version against the schema it was written with', async () => {
    // An older writer schema: same $id, no `year` yet (the current one requires it).
    const old = JSON.parse(toJsonSchemaText(VehicleCreatedEvent)) as {
      properties: { vehicle: { required: string[]; properties: Record<string, unknown> } }
    }
    old.properties.vehicle.required = old.properties.vehicle.required.filter((k) => k !== 'year')
    delete old.properties.vehicle.properties.year
    const oldId = fake.add('stock.vehicle-created-value', JSON.stringify(old))
    const { year: _year, ...vehicle } = created.vehicle
    const written = { ...created, vehicle }
    const decoded = await contracts.decode(
      TOPICS.vehicleCreated,
      encodeWire(oldId, Buffer.from(JSON.stringify(written))),
    )
    expect(decoded).toEqual(written as unknown as VehicleCreatedEvent)
    // …and a record of another subject's schema is not taken for this one.
    const processedId = contracts.bound.find((c) => c.topic === TOPICS.vehicleProcessed)?.schemaId ?? -1
    const foreign = await thrown(() =>
      contracts.decode(
        TOPICS.vehicleCreated,
        encodeWire(processedId, Buffer.from(JSON.stringify(processed))),
      ),
    )
    expect(foreign).toBeInstanceOf(ContractViolation)
    expect((foreign as ContractViolation).violations[0]?.rule).toBe('$id')
  })

  test('start is refused with a clear message when the schema is not registered', async () => {
    const contract = {
      ...EVENT_CONTRACTS[0],
      subject: 'never-registered-value',
    } as (typeof EVENT_CONTRACTS)[0]
    const error = await thrown(() =>
      connectContracts({ registryUrl: fake.url, retry, startupRetry, contracts: [contract] }),
    )
    expect(error).toBeInstanceOf(ContractMismatchError)
    expect(error.message).toContain('subject never-registered-value is not registered')
    expect(error.message).toContain('contracts:register')
  })

  test('start is refused when the registered schema differs from the one built in', async () => {
    fake.add('drifted-value', '{"type":"object"}')
    const contract = { ...EVENT_CONTRACTS[0], subject: 'drifted-value' } as (typeof EVENT_CONTRACTS)[0]
    const error = await thrown(() =>
      connectContracts({ registryUrl: fake.url, retry, startupRetry, contracts: [contract] }),
    )
    expect(error).toBeInstanceOf(ContractMismatchError)
    expect(error.message).toContain(
      'no registered version of drifted-value equals the schema this build carries',
    )
  })
})

test('a registry answering HTML at start is a RegistryUnavailableError after bounded retries, not a hang', async () => {
  const html = startFakeRegistry()
  html.mode = 'html-502'
  try {
    const started = performance.now()
    const error = await thrown(() =>
      connectContracts({
        registryUrl: html.url,
        startupRetry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
      }),
    )
    expect(error).toBeInstanceOf(RegistryUnavailableError)
    expect(error.message).toContain('failed 3 times')
    expect(html.requests).toHaveLength(3)
    expect(performance.now() - started).toBeLessThan(2000)
  } finally {
    html.stop()
  }
})

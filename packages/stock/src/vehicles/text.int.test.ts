/**
 * Text against the real PostgreSQL: the two bodies that once answered 201 and 500 (`"manufacturer":
 * "\u0085"` and `"model": "\ud800"`) are 400s naming the field with nothing written, and text that only
 * the database refuses (should a value ever get past the contract) is still a 400 naming the field, never
 * a 500: PostgreSQL says 22P02 for a lone surrogate in `::jsonb`, 22021 for NUL in text.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { ErrorBody, Vehicle } from '@vehicles/contracts'
import { createLogger, HttpError } from '@vehicles/platform'
import { createTestDatabase, SAMPLE_VEHICLE, type TestDatabase } from '@vehicles/testing'
import { createStockApp } from '../app'
import { type Database, openPostgres } from '../db/database'
import { migratePostgresUrl } from '../db/migrate'
import { outboxEntry } from '../outbox/enqueue'
import { createVehicleRepository } from './repository'

let testDb: TestDatabase
let db: Database
let app: ReturnType<typeof createStockApp>

beforeAll(async () => {
  testDb = await createTestDatabase('stock_text')
  await migratePostgresUrl(testDb.url)
  db = openPostgres({ url: testDb.url, max: 2, connectTimeoutSeconds: 5, applicationName: 'stock-text-test' })
  app = createStockApp({ db, logger: createLogger({ service: 'vehicles-stock', write: () => {} }) })
})

afterAll(async () => {
  await db?.close()
  await testDb?.drop()
})

const rows = async () => {
  const [row] = await testDb.sql<{ vehicles: number; outbox: number }[]>`
    select (select count(*)::int from vehicles) as vehicles, (select count(*)::int from outbox) as outbox`
  return row
}

const body = (over: Record<string, unknown>) => ({ ...SAMPLE_VEHICLE, ...over })

test.each([
  ['manufacturer', '\u0085'],
  ['model', '\ud800'],
])('POST with %s = %j: 400 naming the field, nothing written to PostgreSQL', async (field, text) => {
  const response = await app.handle(
    new Request('http://local/stock', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body({ [field]: text })),
    }),
  )
  const answer = (await response.json()) as ErrorBody
  expect(response.status).toBe(400)
  expect(answer.error.details?.map((d) => [d.field, d.rule])).toEqual([[field, 'pattern']])
  expect(await rows()).toEqual({ vehicles: 0, outbox: 0 })
})

test.each([
  ['a lone surrogate (22P02 from the jsonb cast)', 'model', 'Go\ud800lf'],
  ['NUL (22021)', 'manufacturer', 'Volks\u0000wagen'],
])(
  'text the database refuses, past the contract: %s is a 400 naming the field',
  async (_what, field, text) => {
    const repository = createVehicleRepository(db)
    const vehicle = {
      id: crypto.randomUUID(),
      ...body({ [field]: text }),
      createdAt: new Date().toISOString(),
    } as Vehicle
    const entry = outboxEntry({
      topic: 'stock.vehicle-created',
      aggregateType: 'vehicle',
      aggregateId: vehicle.id,
      eventId: crypto.randomUUID(),
      payload: { vehicle },
    })
    let caught: unknown
    try {
      await repository.insert(vehicle, entry)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(HttpError)
    const error = caught as HttpError
    expect([error.status, error.details?.map((d) => [d.field, d.rule])]).toEqual([400, [[field, 'encoding']]])
    expect(await rows()).toEqual({ vehicles: 0, outbox: 0 })
  },
)

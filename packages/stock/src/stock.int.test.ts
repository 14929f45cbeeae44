/**
 * vehicles-stock against the real stack (PostgreSQL, Kafka, registry): the "must show" list,
 * except the fault cases (stock.faults.int.test.ts). Each file gets its own database; Kafka records
 * are told apart by their keys (vehicle ids), since the topic is shared.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connectContracts, TOPICS, type Vehicle, type VehicleCreatedEvent } from '@vehicles/contracts'
import {
  createTestDatabase,
  duplicates,
  rawValue,
  recordsWithKeys,
  stackEnv,
  startTcpProxy,
  type TestDatabase,
  waitFor,
  waitForKeys,
} from '@vehicles/testing'
import { postVehicle, type StockProcess, startStock, vehicleBody } from './testing/stock-process'

const env = stackEnv()
let db: TestDatabase
let stock: StockProcess

const stackVars = (database: TestDatabase, extra: Record<string, string> = {}) => ({
  DATABASE_URL: database.url,
  KAFKA_BROKERS: env.KAFKA_BROKERS,
  SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
  RELAY_POLL_INTERVAL_MS: '500',
  ...extra,
})

const counts = async (database: TestDatabase) => {
  const [row] = await database.sql<{ vehicles: number; outbox: number; keys: number }[]>`
    select (select count(*)::int from vehicles) as vehicles, (select count(*)::int from outbox) as outbox,
           (select count(*)::int from idempotency_keys) as keys`
  return row
}

beforeAll(async () => {
  db = await createTestDatabase('stock_it')
  stock = await startStock(stackVars(db))
})

afterAll(async () => {
  const code = await stock?.stop()
  await db?.drop()
  expect(code).toBe(0)
})

describe('vehicles-stock on the real stack', () => {
  test('POST → one row in PostgreSQL and exactly one record on Kafka: wire format with the registered id, key = vehicle id', async () => {
    const { status, json, headers } = await postVehicle(stock.url, vehicleBody(1))
    expect(status).toBe(201)
    const vehicle = json as Vehicle
    expect(headers.get('location')).toBe(`/stock/${vehicle.id}`)

    const rows = await db.sql`select id::text from vehicles where id = ${vehicle.id}`
    expect(rows).toHaveLength(1)

    const [record, ...more] = await waitForKeys(TOPICS.vehicleCreated, new Set([vehicle.id]), 30_000)
    // Settle, then read again: still exactly one.
    await Bun.sleep(1_500)
    const again = await recordsWithKeys(TOPICS.vehicleCreated, new Set([vehicle.id]))
    expect(more).toEqual([])
    expect(again).toHaveLength(1)
    if (record === undefined) throw new Error('unreachable')
    expect(record.key).toBe(vehicle.id)
    expect(record.headers['event-type']).toBe(TOPICS.vehicleCreated)
    expect(record.headers['content-type']).toBe('application/json')

    const contracts = await connectContracts({ registryUrl: env.SCHEMA_REGISTRY_URL })
    const bound = contracts.bound.find((b) => b.topic === TOPICS.vehicleCreated)
    const bytes = await rawValue(TOPICS.vehicleCreated, record.partition, record.offset)
    expect(bytes[0]).toBe(0) // magic byte
    expect(bytes.readUInt32BE(1)).toBe(bound?.schemaId ?? -1)
    const event: VehicleCreatedEvent = await contracts.decode(TOPICS.vehicleCreated, bytes)
    expect(event.vehicle).toEqual(vehicle)
    expect(record.headers['event-id']).toBe(event.eventId)

    const [sent] = await db.sql<{ sent: boolean }[]>`
      select sent_at is not null as sent from outbox where aggregate_id = ${vehicle.id}`
    expect(sent?.sent).toBe(true)
  }, 60_000)

  test("the original's example body → 400 naming vin and odometerUnit; duplicate VIN → 409; malformed JSON → 400; nothing written", async () => {
    const body = vehicleBody(2)
    expect((await postVehicle(stock.url, body)).status).toBe(201)
    const before = await counts(db)

    const seed = await postVehicle(stock.url, {
      vin: 'vin',
      model: 'model',
      manufacturer: 'manufacturer',
      year: 2022,
      odometer: 1000,
      odometerUnit: 'odometerUnit',
    })
    expect(seed.status).toBe(400)
    const fields = (seed.json as { error: { details: { field: string; rule: string }[] } }).error.details
    expect(fields.map((d) => d.field).sort()).toEqual(['odometerUnit', 'vin'])

    const duplicate = await postVehicle(stock.url, { ...body, odometer: 5 })
    expect(duplicate.status).toBe(409)

    const malformed = await postVehicle(stock.url, '{"vin":"1HGCM82633A004352","year":')
    expect(malformed.status).toBe(400)
    expect(malformed.json).toMatchObject({ error: { code: 'validation_failed' } })

    const wrongType = await fetch(`${stock.url}/stock`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(body),
    })
    expect(wrongType.status).toBe(415)

    expect(await counts(db)).toEqual(before)
  })

  test('Idempotency-Key: the retry answers the first result and writes nothing more', async () => {
    const key = crypto.randomUUID()
    const body = vehicleBody(3)
    const first = await postVehicle(stock.url, body, { 'idempotency-key': key })
    const before = await counts(db)
    const second = await postVehicle(stock.url, body, { 'idempotency-key': key })
    expect(first.status).toBe(201)
    expect(second.status).toBe(201)
    expect(second.json).toEqual(first.json)
    expect(await counts(db)).toEqual(before)

    // Concurrent retries of a new key: one vehicle, every answer the same 201.
    const racedKey = crypto.randomUUID()
    const raced = vehicleBody(4)
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => postVehicle(stock.url, raced, { 'idempotency-key': racedKey })),
    )
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201))
    expect(new Set(answers.map((a) => (a.json as Vehicle).id)).size).toBe(1)
    const after = await counts(db)
    expect(after?.vehicles).toBe((before?.vehicles ?? 0) + 1)
  })

  test('pagination returns every row that existed at the start exactly once while rows are being inserted', async () => {
    const manufacturer = `Pager${Math.random().toString(36).slice(2, 8)}`
    const existing: string[] = []
    for (let i = 0; i < 45; i++) {
      const { json } = await postVehicle(stock.url, vehicleBody(100 + i, { manufacturer }))
      existing.push((json as Vehicle).id)
    }
    let inserting = true
    let inserted = 0
    const writer = (async () => {
      while (inserting) {
        const { status } = await postVehicle(stock.url, vehicleBody(1_000 + inserted, { manufacturer }))
        expect(status).toBe(201)
        inserted++
      }
    })()
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const query = new URLSearchParams({ manufacturer, limit: '4' })
      if (cursor !== null) query.set('cursor', cursor)
      const response = await fetch(`${stock.url}/stock?${query}`)
      expect(response.status).toBe(200)
      const page = (await response.json()) as { items: Vehicle[]; nextCursor: string | null }
      seen.push(...page.items.map((v) => v.id))
      cursor = page.nextCursor
      await Bun.sleep(20) // let the writer get in between pages
    } while (cursor !== null)
    inserting = false
    await writer
    expect(inserted).toBeGreaterThan(0)
    expect(new Set(seen).size).toBe(seen.length) // nothing twice
    const missing = existing.filter((id) => !seen.includes(id))
    expect(missing).toEqual([]) // nothing that existed was skipped
  }, 60_000)
})

describe('database down', () => {
  test('POST and GET answer 503 with Retry-After (never 500) while PostgreSQL is unreachable, and recover', async () => {
    const database = await createTestDatabase('stock_it_dbdown')
    const server = new URL(database.url)
    const proxy = startTcpProxy(server.hostname, Number(server.port))
    const viaProxy = new URL(database.url)
    viaProxy.port = String(proxy.port)
    const service = await startStock(
      stackVars(database, { DATABASE_URL: viaProxy.toString(), DB_CONNECT_TIMEOUT_S: '1' }),
    )
    try {
      expect((await postVehicle(service.url, vehicleBody(9_001))).status).toBe(201)
      proxy.cut()
      const down = await postVehicle(service.url, vehicleBody(9_002))
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(down.json).toMatchObject({ error: { code: 'service_unavailable' } })
      const list = await fetch(`${service.url}/stock`)
      expect(list.status).toBe(503)
      const ready = await fetch(`${service.url}/health/ready`)
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { checks: { database: { ok: boolean } } }).checks.database.ok).toBe(
        false,
      )

      proxy.restore()
      const back = await waitFor(
        'POST to succeed again',
        async () => {
          const r = await postVehicle(service.url, vehicleBody(9_003))
          return r.status === 201 ? r : undefined
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      )
      expect(back.status).toBe(201)
      expect(service.logs().some((l) => l.level === 'error' && l.event === 'http.unhandled')).toBe(false)
    } finally {
      await service.stop()
      proxy.close()
      await database.drop()
    }
  }, 90_000)
})

describe('two stock processes relaying from one outbox', () => {
  let shared: TestDatabase
  const processes: StockProcess[] = []

  afterAll(async () => {
    for (const p of processes) await p.stop()
    await shared?.drop()
  })

  test('one relay leads, the other stands by: no event sent twice, none missing (count and ids checked)', async () => {
    shared = await createTestDatabase('stock_it_two')
    // Fill the outbox first with the relay off, so both relays start on one backlog at once.
    const writer = await startStock(stackVars(shared, { RELAY_ENABLED: 'false' }))
    processes.push(writer)
    const ids = new Set<string>()
    const total = 300
    for (let start = 0; start < total; start += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, total - start) }, (_, i) =>
          postVehicle(writer.url, vehicleBody(5_000 + start + i)),
        ),
      )
      for (const r of batch) {
        expect(r.status).toBe(201)
        ids.add((r.json as Vehicle).id)
      }
    }
    expect(ids.size).toBe(total)

    const [a, b] = await Promise.all(
      [1, 2].map(() => startStock(stackVars(shared, { RELAY_BATCH_SIZE: '5' }))),
    )
    if (a === undefined || b === undefined) throw new Error('unreachable')
    processes.push(a, b)
    // More while both relay, through both.
    for (let i = 0; i < 40; i++) {
      const r = await postVehicle(i % 2 ? a.url : b.url, vehicleBody(6_000 + i))
      expect(r.status).toBe(201)
      ids.add((r.json as Vehicle).id)
    }

    const records = await waitForKeys(TOPICS.vehicleCreated, ids, 90_000)
    await Bun.sleep(2_000)
    const final = await recordsWithKeys(TOPICS.vehicleCreated, ids)
    expect(duplicates(final)).toEqual({})
    expect(final.length).toBe(ids.size)
    expect(new Set(final.map((r) => r.key))).toEqual(ids)
    expect(records.length).toBeGreaterThanOrEqual(ids.size)

    const [pending] = await shared.sql<
      { n: number }[]
    >`select count(*)::int as n from outbox where sent_at is null`
    expect(pending?.n).toBe(0)
    const sentA = await a.metric('outbox_relay_sent_total')
    const sentB = await b.metric('outbox_relay_sent_total')
    const leaders = [await a.metric('outbox_relay_leader'), await b.metric('outbox_relay_leader')]
    console.log(`relay A sent ${sentA}, relay B sent ${sentB}, of ${ids.size}; leader gauges ${leaders}`)
    expect(sentA + sentB).toBe(ids.size)
    // Exactly one leads (the advisory lock) and sent everything, including what came in through the other.
    expect([...leaders].sort()).toEqual([0, 1])
    expect(leaders[0] === 1 ? sentB : sentA).toBe(0)
  }, 180_000)
})

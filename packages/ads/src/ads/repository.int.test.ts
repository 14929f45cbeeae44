/** The read model against the real MongoDB-wire server of the stack (FerretDB). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { openTestDb, type TestDb } from '@vehicles/testing'
import { at, processedEvent } from '../testing/events'
import type { AdDocument } from './model'
import { type AdQuery, decodeCursor, LIMIT_DEFAULT } from './query'
import { AdsRepository, COLLECTION, INDEXES } from './repository'
import { versionKey } from './version'

let testDb: TestDb
let repo: AdsRepository

beforeAll(async () => {
  testDb = await openTestDb('repo')
  repo = new AdsRepository(testDb.db)
  await repo.ensureIndexes()
}, 120_000)

afterAll(async () => {
  await testDb?.dispose()
})

const raw = () => testDb.db.collection<AdDocument>(COLLECTION)

describe('upsert', () => {
  test('a processed event makes one ad; the same event three times still one ad', async () => {
    const event = processedEvent({ amount: 12_345 })
    const outcomes = [await repo.upsert(event), await repo.upsert(event), await repo.upsert(event)]
    expect(outcomes).toEqual(['applied', 'stale', 'stale'])
    expect(await raw().countDocuments({ _id: event.vehicle.id })).toBe(1)
    const ad = await repo.findById(event.vehicle.id)
    expect(ad).toMatchObject({ vehicleId: event.vehicle.id, price: { amount: 12_345, currency: 'EUR' } })
    expect(ad?.updatedAt).toBe(new Date(event.occurredAt).toISOString())
  }, 120_000)

  test('projectedAt says when this service wrote the version the ad holds; a stale event leaves it', async () => {
    const vehicleId = crypto.randomUUID()
    const first = processedEvent({ vehicleId, occurredAt: at(10) })
    const before = Date.now()
    expect(await repo.upsertMany([first])).toEqual(['applied'])
    const written = (await raw().findOne({ _id: vehicleId }))?.projectedAt?.getTime()
    expect(written, 'projectedAt of the first write').toBeGreaterThanOrEqual(before)
    expect(written).toBeLessThanOrEqual(Date.now())
    await Bun.sleep(5)
    expect(await repo.upsertMany([first])).toEqual(['stale'])
    expect((await raw().findOne({ _id: vehicleId }))?.projectedAt?.getTime()).toBe(written as number)
    expect(await repo.upsert(processedEvent({ vehicleId, occurredAt: at(20) }))).toBe('applied')
    const rewritten = (await raw().findOne({ _id: vehicleId }))?.projectedAt?.getTime()
    expect(rewritten, 'projectedAt after a newer version').toBeGreaterThan(written as number)
  }, 120_000)

  test('a second answer to the created event the ad holds (same causationId, newer version) changes nothing', async () => {
    const vehicleId = crypto.randomUUID()
    const causationId = crypto.randomUUID()
    const first = processedEvent({ vehicleId, causationId, occurredAt: at(10), amount: 11_111 })
    const second = processedEvent({ vehicleId, causationId, occurredAt: at(40), amount: 22_222 })
    expect(await repo.upsert(first)).toBe('applied')
    expect(await repo.upsert(second)).toBe('stale')
    expect(await repo.upsertMany([second])).toEqual(['stale'])
    const doc = await raw().findOne({ _id: vehicleId })
    expect({ amount: doc?.price.amount, eventId: doc?.eventId, causationId: doc?.causationId }).toEqual({
      amount: 11_111,
      eventId: first.eventId,
      causationId,
    })
  }, 120_000)

  test('an older version after a newer one leaves the newer in place', async () => {
    const vehicleId = crypto.randomUUID()
    const newer = processedEvent({ vehicleId, occurredAt: at(60), amount: 20_000 })
    const older = processedEvent({ vehicleId, occurredAt: at(30), amount: 10_000 })
    expect(await repo.upsert(newer)).toBe('applied')
    expect(await repo.upsert(older)).toBe('stale')
    const doc = await raw().findOne({ _id: vehicleId })
    expect(doc?.price.amount).toBe(20_000)
    expect(doc?.eventId).toBe(newer.eventId)
  }, 120_000)

  test('a newer version replaces an older one', async () => {
    const vehicleId = crypto.randomUUID()
    await repo.upsert(processedEvent({ vehicleId, occurredAt: at(1), amount: 1 }))
    expect(await repo.upsert(processedEvent({ vehicleId, occurredAt: at(2), amount: 2 }))).toBe('applied')
    expect((await repo.findById(vehicleId))?.price.amount).toBe(2)
  }, 120_000)

  test('same instant: the greater event id wins, whatever the arrival order', async () => {
    const vehicleId = crypto.randomUUID()
    const low = processedEvent({
      vehicleId,
      occurredAt: at(5),
      eventId: '10000000-0000-4000-8000-000000000000',
      amount: 1,
    })
    const high = processedEvent({
      vehicleId,
      occurredAt: at(5),
      eventId: '20000000-0000-4000-8000-000000000000',
      amount: 2,
    })
    expect(await repo.upsert(high)).toBe('applied')
    expect(await repo.upsert(low)).toBe('stale')
    expect((await repo.findById(vehicleId))?.price.amount).toBe(2)
  }, 120_000)

  test('20 concurrent upserts of one vehicle leave exactly one ad, holding the highest version', async () => {
    // Several rounds: without per-key serialisation FerretDB's read-then-write upsert loses the race in
    // about a third of the rounds (measured: 6 of 20), so one round alone could pass by luck.
    for (let round = 0; round < 5; round++) {
      const vehicleId = crypto.randomUUID()
      const events = Array.from({ length: 20 }, (_, i) =>
        processedEvent({ vehicleId, occurredAt: at(100 + i), amount: 1_000 + i }),
      )
      // Arrival order unrelated to version order: the newest arrives in the middle.
      const shuffled = [...events.slice(7), ...events.slice(0, 7)].reverse()
      const outcomes = await Promise.all(shuffled.map((event) => repo.upsert(event)))
      const docs = await raw().find({ _id: vehicleId }).toArray()
      const newest = events[19]
      expect({ round, count: docs.length, version: docs[0]?.version, amount: docs[0]?.price.amount }).toEqual(
        {
          round,
          count: 1,
          version: versionKey(newest?.occurredAt ?? '', newest?.eventId ?? ''),
          amount: 1_019,
        },
      )
      expect(outcomes.filter((o) => o === 'applied').length).toBeGreaterThanOrEqual(1)
    }
  }, 120_000)

  test('an ad another writer holds at a newer version is left alone', async () => {
    const vehicleId = crypto.randomUUID()
    const newer = processedEvent({ vehicleId, occurredAt: at(900), amount: 9 })
    // Written through another repository (no shared lanes), as another process would.
    expect(await new AdsRepository(testDb.db).upsert(newer)).toBe('applied')
    expect(await repo.upsert(processedEvent({ vehicleId, occurredAt: at(1), amount: 1 }))).toBe('stale')
    expect((await repo.findById(vehicleId))?.price.amount).toBe(9)
  }, 120_000)

  test('the server accepts the majority write concern the projection commits after', async () => {
    // FerretDB v1.24 has no replica set; it accepts { w: "majority" } and answers once its PostgreSQL
    // transaction committed. A refusal here would make every write of the projection fail.
    const majority = testDb.db.collection(COLLECTION, { writeConcern: { w: 'majority', wtimeoutMS: 5_000 } })
    const result = await majority.insertOne({ _id: crypto.randomUUID() } as never)
    expect(result.acknowledged).toBe(true)
    expect(await repo.upsert(processedEvent())).toBe('applied')
  }, 120_000)

  test('findById answers null for an unknown vehicle', async () => {
    expect(await repo.findById(crypto.randomUUID())).toBeNull()
  }, 120_000)

  test('indexes for every served query exist after start', async () => {
    const names = (await raw().listIndexes().toArray()).map((index) => String(index.name))
    for (const index of INDEXES) expect(names).toContain(String(index.name))
    await repo.ensureIndexes() // a second start must not fail
  }, 120_000)
})

describe('upsertMany (one bulk write per batch)', () => {
  test('new vehicles are applied in one call; the same batch again is all stale, still one ad each', async () => {
    const events = Array.from({ length: 50 }, (_, i) => processedEvent({ amount: 1_000 + i }))
    expect(await repo.upsertMany(events)).toEqual(events.map(() => 'applied'))
    expect(await repo.upsertMany(events)).toEqual(events.map(() => 'stale'))
    const ids = events.map((e) => e.vehicle.id)
    for (const id of ids.slice(0, 5)) expect(await raw().countDocuments({ _id: id })).toBe(1)
    expect((await repo.findById(ids[7] ?? ''))?.price.amount).toBe(1_007)
  }, 120_000)

  test('a batch mixing new vehicles, newer and older versions of existing ads, and in-batch duplicates', async () => {
    const existingNewer = crypto.randomUUID()
    const existingOlder = crypto.randomUUID()
    await repo.upsert(processedEvent({ vehicleId: existingNewer, occurredAt: at(10), amount: 10 }))
    await repo.upsert(processedEvent({ vehicleId: existingOlder, occurredAt: at(10), amount: 10 }))
    const twice = crypto.randomUUID()
    const fresh = processedEvent({ amount: 7 })
    const batch = [
      fresh,
      processedEvent({ vehicleId: existingNewer, occurredAt: at(20), amount: 20 }), // newer: replaces
      processedEvent({ vehicleId: existingOlder, occurredAt: at(5), amount: 5 }), // older: ignored
      processedEvent({ vehicleId: twice, occurredAt: at(40), amount: 40 }), // the newest of `twice`
      processedEvent({ vehicleId: twice, occurredAt: at(30), amount: 30 }), // older, same batch
      fresh, // the same event twice in one batch
    ]
    expect(await repo.upsertMany(batch)).toEqual(['applied', 'applied', 'stale', 'applied', 'stale', 'stale'])
    expect((await repo.findById(existingNewer))?.price.amount).toBe(20)
    expect((await repo.findById(existingOlder))?.price.amount).toBe(10)
    expect((await repo.findById(twice))?.price.amount).toBe(40)
    expect(await raw().countDocuments({ _id: twice })).toBe(1)
    expect(await raw().countDocuments({ _id: fresh.vehicle.id })).toBe(1)
  }, 120_000)

  test('an event whose date cannot be ordered is rejected alone; the rest of the batch is written', async () => {
    const good = processedEvent()
    const bad = processedEvent({ occurredAt: '2026-11-25T23:59:60Z' })
    const outcomes = await repo.upsertMany([good, bad])
    expect(outcomes[0]).toBe('applied')
    expect(outcomes[1]).toMatchObject({ rejected: expect.any(RangeError) })
    expect(await raw().countDocuments({ _id: bad.vehicle.id })).toBe(0)
  }, 120_000)
})

describe('list', () => {
  // A database of its own: the upsert tests above add ads that would blur the expectations here.
  let listDb: TestDb
  let ads: AdsRepository
  const seeded: ReturnType<typeof processedEvent>[] = []
  const makes = [
    ['Renault', 'Clio'],
    ['Renault', 'Zoe'],
    ['Peugeot', '208'],
    ['Tesla', 'Model 3'],
  ] as const

  beforeAll(async () => {
    listDb = await openTestDb('list')
    ads = new AdsRepository(listDb.db)
    await ads.ensureIndexes()
    for (let i = 0; i < 60; i++) {
      const [manufacturer, model] = makes[i % makes.length] ?? makes[0]
      // Prices repeat (every 10th) so the _id tiebreak is exercised.
      seeded.push(
        processedEvent({
          manufacturer,
          model,
          year: 2010 + (i % 12),
          amount: 5_000 + (i % 10) * 1_000,
          occurredAt: at(i),
        }),
      )
    }
    await Promise.all(seeded.map((event) => ads.upsert(event)))
  }, 120_000)

  afterAll(async () => {
    await listDb?.dispose()
  })

  async function all(query: Omit<AdQuery, 'limit' | 'after'>, limit: number) {
    const ids: string[] = []
    const pages: string[][] = []
    let after: AdQuery['after']
    for (let guard = 0; guard < 200; guard++) {
      const page = await ads.list({ ...query, limit, after })
      pages.push(page.items.map((ad) => ad.vehicleId))
      ids.push(...page.items.map((ad) => ad.vehicleId))
      if (page.nextCursor === null) return { ids, pages }
      after = decodeCursor(page.nextCursor, query.sort)
    }
    throw new Error(`pagination did not end; pages so far: ${JSON.stringify(pages)}`)
  }

  const byPrice = (a: ReturnType<typeof processedEvent>, b: ReturnType<typeof processedEvent>) =>
    a.price.amount - b.price.amount || (a.vehicle.id < b.vehicle.id ? -1 : 1)

  test('sort=price walks every ad once, cheapest first, _id breaking ties', async () => {
    const { ids } = await all({ sort: 'price' }, 7)
    expect(ids).toEqual([...seeded].sort(byPrice).map((e) => e.vehicle.id))
  }, 120_000)

  test('sort=-price is the exact reverse', async () => {
    const { ids } = await all({ sort: '-price' }, 9)
    expect(ids).toEqual(
      [...seeded]
        .sort(byPrice)
        .reverse()
        .map((e) => e.vehicle.id),
    )
  }, 120_000)

  test('sort=newest orders by the processed event time, newest first', async () => {
    const { ids } = await all({ sort: 'newest' }, LIMIT_DEFAULT)
    const expected = [...seeded]
      .sort((a, b) => b.occurredAt.localeCompare(a.occurredAt) || (a.vehicle.id < b.vehicle.id ? 1 : -1))
      .map((e) => e.vehicle.id)
    expect(ids).toEqual(expected)
  }, 120_000)

  test('filters: manufacturer, model, year range, price range', async () => {
    const query = {
      sort: 'price',
      manufacturer: 'Renault',
      model: 'Clio',
      yearFrom: 2012,
      yearTo: 2019,
      priceMin: 6_000,
      priceMax: 12_000,
    } as const
    const { ids } = await all(query, 5)
    const expected = seeded
      .filter(
        (e) =>
          e.vehicle.manufacturer === 'Renault' &&
          e.vehicle.model === 'Clio' &&
          e.vehicle.year >= 2012 &&
          e.vehicle.year <= 2019 &&
          e.price.amount >= 6_000 &&
          e.price.amount <= 12_000,
      )
      .sort(byPrice)
      .map((e) => e.vehicle.id)
    expect(expected.length).toBeGreaterThan(0)
    expect(ids).toEqual(expected)
  }, 120_000)

  test('a filter that matches nothing answers an empty page without a cursor', async () => {
    expect(await ads.list({ sort: 'price', limit: 10, manufacturer: 'Nobody' })).toEqual({
      items: [],
      nextCursor: null,
    })
  }, 120_000)

  test('each ad appears once while ads are being inserted during the walk', async () => {
    const before = new Set(seeded.map((e) => e.vehicle.id))
    const inserted: string[] = []
    let inserting = true
    const writer = (async () => {
      for (let i = 0; inserting && i < 200; i++) {
        const event = processedEvent({ amount: 5_000 + ((i * 7) % 10) * 1_000, occurredAt: at(1_000 + i) })
        await ads.upsert(event)
        inserted.push(event.vehicle.id)
      }
    })()
    const { ids } = await all({ sort: 'price' }, 4)
    inserting = false
    await writer
    expect(inserted.length).toBeGreaterThan(0)
    const counts = new Map<string, number>()
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1)
    const repeated = [...counts].filter(([, n]) => n > 1)
    expect(repeated).toEqual([])
    const missing = [...before].filter((id) => !counts.has(id))
    expect(missing).toEqual([])
  }, 120_000)
})

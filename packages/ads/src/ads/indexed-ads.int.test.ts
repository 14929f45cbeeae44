/**
 * The in-memory list index against the real database query on FerretDB: for the same ads, every query
 * walks the same ads in the same order, whether the index was loaded from the database or fed by writes.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { openTestDb, type TestDb } from '@vehicles/testing'
import { at, processedEvent } from '../testing/events'
import { IndexedAds } from './indexed-ads'
import { type AdQuery, type AdSort, decodeCursor } from './query'
import { type AdPage, AdsRepository } from './repository'

const quiet = { info() {}, warn() {} }
let testDb: TestDb
let repo: AdsRepository
let fed: IndexedAds

beforeAll(async () => {
  testDb = await openTestDb('indexed')
  fed = new IndexedAds({ scanAll: async () => [], findById: async () => null }, quiet)
  repo = new AdsRepository(testDb.db, { onApplied: (doc) => fed.apply(doc) })
  await repo.ensureIndexes()
  const makes = [
    ['Renault', 'Clio'],
    ['Renault', 'Zoe'],
    ['Peugeot', '208'],
  ] as const
  const events = Array.from({ length: 120 }, (_, i) => {
    const [manufacturer, model] = makes[i % 3] ?? makes[0]
    return processedEvent({
      manufacturer,
      model,
      year: 2015 + (i % 5),
      amount: 1_000 * (1 + (i % 7)),
      occurredAt: at(i % 13),
    })
  })
  // Some vehicles priced twice, one older event after the newer: the index must end like the database.
  const again = events
    .slice(0, 10)
    .map((e) => processedEvent({ vehicleId: e.vehicle.id, occurredAt: at(50), amount: 99 }))
  const stale = events
    .slice(0, 5)
    .map((e) => processedEvent({ vehicleId: e.vehicle.id, occurredAt: at(-5), amount: 1 }))
  for (const event of [...events, ...again, ...stale]) await repo.upsert(event)
}, 120_000)

afterAll(async () => {
  await testDb?.dispose()
})

async function walk(
  list: (q: AdQuery) => Promise<AdPage>,
  q: Omit<AdQuery, 'limit' | 'after'>,
  limit: number,
) {
  const ids: string[] = []
  let after: AdQuery['after']
  for (let guard = 0; guard < 500; guard++) {
    const page = await list({ ...q, limit, after })
    ids.push(...page.items.map((ad) => `${ad.vehicleId}:${ad.price.amount}:${ad.updatedAt}`))
    if (page.nextCursor === null) return ids
    after = decodeCursor(page.nextCursor, q.sort)
  }
  throw new Error('pagination did not end')
}

test('loaded from the database and fed by writes, the index answers every query as the database does', async () => {
  const loaded = new IndexedAds(repo, quiet)
  await loaded.load()
  expect(loaded.size).toBe(120)
  expect(fed.size).toBe(120)
  for (const sort of ['price', '-price', 'newest'] as AdSort[]) {
    for (const q of [
      { sort },
      { sort, manufacturer: 'Renault', model: 'Zoe' },
      { sort, yearFrom: 2016, yearTo: 2017, priceMin: 2_000, priceMax: 5_000 },
    ]) {
      const fromDb = await walk((x) => repo.list(x), q, 11)
      expect(fromDb.length).toBeGreaterThan(0)
      expect({ q, ids: await walk((x) => loaded.list(x), q, 11) }).toEqual({ q, ids: fromDb })
      expect({ q, ids: await walk((x) => fed.list(x), q, 7) }).toEqual({ q, ids: fromDb })
    }
  }
}, 120_000)

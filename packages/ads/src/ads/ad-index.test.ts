import { describe, expect, test } from 'bun:test'
import { at, processedEvent } from '../testing/events'
import { AdIndex } from './ad-index'
import type { AdDocument } from './model'
import { type AdQuery, type AdSort, decodeCursor } from './query'
import { adDocument } from './repository'

/** A deterministic pseudo-random stream. */
function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

const MAKES = [
  ['Renault', 'Clio'],
  ['Renault', 'Zoe'],
  ['Peugeot', '208'],
] as const

function docs(count: number, seed: number): AdDocument[] {
  const next = rng(seed)
  return Array.from({ length: count }, () => {
    const [manufacturer, model] = MAKES[Math.floor(next() * MAKES.length)] ?? MAKES[0]
    // Few distinct prices and times, so ties on the sort key (broken by _id) are common.
    return adDocument(
      processedEvent({
        manufacturer,
        model,
        year: 2015 + Math.floor(next() * 6),
        amount: 1_000 * (1 + Math.floor(next() * 8)),
        occurredAt: at(Math.floor(next() * 10)),
      }),
    )
  })
}

/** The obvious, slow implementation of the same query: filter, sort everything, walk the keyset. */
function reference(all: AdDocument[], q: Omit<AdQuery, 'limit' | 'after'>): string[] {
  const keyOf = (d: AdDocument) => (q.sort === 'newest' ? d.updatedAt.getTime() : d.price.amount)
  const direction = q.sort === 'price' ? 1 : -1
  return all
    .filter(
      (d) =>
        (q.manufacturer === undefined || d.manufacturer === q.manufacturer) &&
        (q.model === undefined || d.model === q.model) &&
        (q.yearFrom === undefined || d.year >= q.yearFrom) &&
        (q.yearTo === undefined || d.year <= q.yearTo) &&
        (q.priceMin === undefined || d.price.amount >= q.priceMin) &&
        (q.priceMax === undefined || d.price.amount <= q.priceMax),
    )
    .sort((a, b) => direction * (keyOf(a) - keyOf(b) || (a._id < b._id ? -1 : 1)))
    .map((d) => d._id)
}

function walk(index: AdIndex, q: Omit<AdQuery, 'limit' | 'after'>, limit: number): string[] {
  const ids: string[] = []
  let after: AdQuery['after']
  for (let guard = 0; guard < 10_000; guard++) {
    const page = index.list({ ...q, limit, after })
    expect(page.items.length).toBeLessThanOrEqual(limit)
    ids.push(...page.items.map((ad) => ad.vehicleId))
    if (page.nextCursor === null) return ids
    after = decodeCursor(page.nextCursor, q.sort)
  }
  throw new Error('pagination did not end')
}

describe('AdIndex', () => {
  const all = docs(400, 7)
  const index = AdIndex.of(all)
  const queries: Omit<AdQuery, 'limit' | 'after'>[] = []
  for (const sort of ['price', '-price', 'newest'] as AdSort[]) {
    queries.push(
      { sort },
      { sort, manufacturer: 'Renault' },
      { sort, manufacturer: 'Renault', model: 'Zoe', yearFrom: 2016, yearTo: 2018 },
      { sort, priceMin: 3_000, priceMax: 6_000 },
      { sort, priceMin: 8_000 },
      { sort, priceMax: 1_000, model: '208' },
      { sort, manufacturer: 'Nobody' },
    )
  }

  test('every query, every page size: the same ads in the same order as filter-then-sort', () => {
    for (const q of queries) {
      const expected = reference(all, q)
      for (const limit of [1, 7, 50, 100]) {
        expect({ q, limit, ids: walk(index, q, limit) }).toEqual({ q, limit, ids: expected })
      }
    }
  })

  test('apply keeps the newest version only and re-sorts the updated ad', () => {
    const idx = AdIndex.of([])
    const vehicleId = crypto.randomUUID()
    const v1 = adDocument(processedEvent({ vehicleId, occurredAt: at(1), amount: 9_000 }))
    const v2 = adDocument(processedEvent({ vehicleId, occurredAt: at(2), amount: 1_000 }))
    const other = adDocument(processedEvent({ occurredAt: at(3), amount: 5_000 }))
    expect(idx.apply(v1)).toBe(true)
    expect(idx.apply(other)).toBe(true)
    expect(idx.apply(v2)).toBe(true)
    expect(idx.apply(v1)).toBe(false)
    expect(idx.apply(v2)).toBe(false)
    expect(idx.size).toBe(2)
    const cheapest = idx.list({ sort: 'price', limit: 10 }).items
    expect(cheapest.map((a) => [a.vehicleId, a.price.amount])).toEqual([
      [vehicleId, 1_000],
      [other._id, 5_000],
    ])
    expect(idx.list({ sort: 'newest', limit: 10 }).items.map((a) => a.vehicleId)).toEqual([
      other._id,
      vehicleId,
    ])
  })

  test('many applies in random order end like a build from the final versions', () => {
    const next = rng(3)
    const ids = Array.from({ length: 30 }, () => crypto.randomUUID())
    const writes = Array.from({ length: 300 }, (_, i) => {
      const vehicleId = ids[Math.floor(next() * ids.length)] ?? ''
      return adDocument(
        processedEvent({ vehicleId, occurredAt: at(i), amount: 1_000 * Math.floor(next() * 5) }),
      )
    })
    const shuffled = [...writes].sort(() => next() - 0.5)
    const incremental = AdIndex.of([])
    for (const doc of shuffled) incremental.apply(doc)
    const built = AdIndex.of(writes)
    for (const sort of ['price', '-price', 'newest'] as AdSort[]) {
      expect(walk(incremental, { sort }, 7)).toEqual(walk(built, { sort }, 100))
    }
  })

  test('a reload keeps writes that happened while it read (newer wins)', () => {
    const vehicleId = crypto.randomUUID()
    const old = adDocument(processedEvent({ vehicleId, occurredAt: at(1), amount: 1 }))
    const written = adDocument(processedEvent({ vehicleId, occurredAt: at(2), amount: 2 }))
    const brandNew = adDocument(processedEvent({ occurredAt: at(3), amount: 3 }))
    const live = AdIndex.of([old])
    live.apply(written)
    live.apply(brandNew)
    const reloaded = live.carryInto(AdIndex.of([old])) // the scan missed both writes
    expect(reloaded.list({ sort: 'price', limit: 10 }).items.map((a) => a.price.amount)).toEqual([2, 3])
  })
})

/**
 * Fills an ads collection with `count` ads through the driver's unordered bulkWrite of the same guarded
 * upserts the projection issues (`upsertModel`): the raw-driver reference rate of the benchmark.
 */
import type { AdDocument, ProcessedVehicle } from '../../packages/ads/src/ads/model'
import {
  AdsRepository,
  type AdsRepositoryOptions,
  adDocument,
  COLLECTION,
  upsertModel,
} from '../../packages/ads/src/ads/repository'
import type { Db } from '../../packages/ads/src/db'

const MAKES = [
  ['Renault', ['Clio', 'Megane', 'Zoe', 'Captur']],
  ['Peugeot', ['208', '308', '3008', '5008']],
  ['Volkswagen', ['Golf', 'Polo', 'Passat', 'Tiguan']],
  ['Tesla', ['Model 3', 'Model Y', 'Model S']],
  ['Toyota', ['Yaris', 'Corolla', 'RAV4']],
  ['BMW', ['Series 1', 'Series 3', 'X1', 'X3']],
  ['Fiat', ['500', 'Panda', 'Tipo']],
  ['Skoda', ['Octavia', 'Fabia', 'Kodiaq']],
] as const

const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'

/** A deterministic pseudo-random stream, so two runs seed the same shape of data. */
function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function syntheticEvents(count: number, seed = 1): ProcessedVehicle[] {
  const next = rng(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
  const base = Date.UTC(2026, 0, 1)
  return Array.from({ length: count }, (_, i) => {
    const [manufacturer, models] = pick(MAKES)
    const occurredAt = new Date(base + i * 1_000 + Math.floor(next() * 1_000)).toISOString()
    return {
      eventId: crypto.randomUUID(),
      occurredAt,
      causationId: crypto.randomUUID(),
      vehicle: {
        id: crypto.randomUUID(),
        vin: Array.from({ length: 17 }, () => pick([...VIN_CHARS])).join(''),
        manufacturer,
        model: pick(models),
        year: 2005 + Math.floor(next() * 21),
        odometer: Math.floor(next() * 250_000),
        odometerUnit: next() < 0.8 ? 'km' : 'mi',
        createdAt: occurredAt,
      },
      price: { amount: 2_000 + Math.floor(next() * 78_000), currency: 'EUR' },
      estimatedAt: occurredAt,
    }
  })
}

/** Bulk-upserts `events` in batches; resolves to events per second. */
export async function bulkUpsert(db: Db, events: ProcessedVehicle[], batch = 1_000): Promise<number> {
  const ads = db.collection<AdDocument>(COLLECTION, { writeConcern: { w: 'majority' } })
  const started = performance.now()
  for (let i = 0; i < events.length; i += batch) {
    await ads.bulkWrite(
      events.slice(i, i + batch).map((event) => ({ updateOne: { ...upsertModel(event), upsert: true } })),
      { ordered: false },
    )
  }
  return events.length / ((performance.now() - started) / 1000)
}

/** The floor of the write path: plain unordered inserts of the documents the write would store. */
export async function bulkInsert(db: Db, events: ProcessedVehicle[], batch = 1_000): Promise<number> {
  const ads = db.collection<AdDocument>(COLLECTION, { writeConcern: { w: 'majority' } })
  const started = performance.now()
  for (let i = 0; i < events.length; i += batch) {
    await ads.insertMany(events.slice(i, i + batch).map(adDocument), { ordered: false })
  }
  return events.length / ((performance.now() - started) / 1000)
}

export async function prepare(db: Db, options: AdsRepositoryOptions = {}): Promise<AdsRepository> {
  const repo = new AdsRepository(db, options)
  await repo.ensureIndexes()
  return repo
}

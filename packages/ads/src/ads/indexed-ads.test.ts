import { expect, test } from 'bun:test'
import { at, processedEvent } from '../testing/events'
import { IndexedAds } from './indexed-ads'
import type { AdDocument, AdView } from './model'
import { toView } from './model'
import { adDocument } from './repository'

const quiet = { info() {}, warn() {} }

function source(stored: AdDocument[]) {
  const asked: string[] = []
  return {
    asked,
    stored,
    scanAll: async () => [...stored],
    findById: async (id: string): Promise<AdView | null> => {
      asked.push(id)
      const doc = stored.find((d) => d._id === id)
      return doc === undefined ? null : toView(doc)
    },
  }
}

test('by id: from the index when it holds the ad, from the database otherwise', async () => {
  const loaded = adDocument(processedEvent({ occurredAt: at(1) }))
  const elsewhere = adDocument(processedEvent({ occurredAt: at(2) }))
  const db = source([loaded])
  const ads = new IndexedAds(db, quiet)
  await ads.load()
  // Written by another instance after the load: in the database, not in this index.
  db.stored.push(elsewhere)
  expect(await ads.findById(loaded._id)).toEqual(toView(loaded))
  expect(db.asked).toEqual([])
  expect(await ads.findById(elsewhere._id)).toEqual(toView(elsewhere))
  expect(db.asked).toEqual([elsewhere._id])
  expect(await ads.findById('00000000-0000-4000-8000-000000000000')).toBeNull()
})

test('own writes are visible at once; a reload adds what others wrote', async () => {
  const db = source([])
  const ads = new IndexedAds(db, quiet)
  await ads.load()
  const mine = adDocument(processedEvent())
  ads.apply(mine)
  expect((await ads.list({ sort: 'newest', limit: 10 })).items.map((a) => a.vehicleId)).toEqual([mine._id])
  const theirs = adDocument(processedEvent())
  db.scanAll = async () => [theirs] // the reload's scan started before `mine` was written
  await ads.load()
  const ids = (await ads.list({ sort: 'price', limit: 10 })).items.map((a) => a.vehicleId).sort()
  expect(ids).toEqual([mine._id, theirs._id].sort())
  expect(ads.loadedAt).toBeNumber()
})

test('resync: skipped only while this member has held every partition since the last reload', async () => {
  const db = source([])
  const ads = new IndexedAds(db, quiet)
  let hold = { owned: 6, total: 6, changes: 1 }
  const ownership = async () => hold
  // The first tick reloads: the index was loaded before the member joined the group.
  expect(await ads.resync(ownership)).toBe('reloaded')
  expect(await ads.resync(ownership)).toBe('skipped')
  // Another member took partitions (and may have written ads), then left: the changes moved.
  hold = { owned: 6, total: 6, changes: 3 }
  const theirs = adDocument(processedEvent())
  db.stored.push(theirs)
  expect(await ads.resync(ownership)).toBe('reloaded')
  expect((await ads.list({ sort: 'newest', limit: 10 })).items.map((a) => a.vehicleId)).toEqual([theirs._id])
  expect(await ads.resync(ownership)).toBe('skipped')
  // Holding part of the topic: others write the rest, every tick reloads.
  hold = { owned: 3, total: 6, changes: 4 }
  expect(await ads.resync(ownership)).toBe('reloaded')
  expect(await ads.resync(ownership)).toBe('reloaded')
  // Back to every partition: one reload (others wrote until the change), then skipped.
  hold = { owned: 6, total: 6, changes: 5 }
  expect(await ads.resync(ownership)).toBe('reloaded')
  expect(await ads.resync(ownership)).toBe('skipped')
  // The consumer cannot say (Kafka away), or no ownership given: reload, as before.
  expect(await ads.resync(async () => Promise.reject(new Error('no broker')))).toBe('reloaded')
  expect(await ads.resync()).toBe('reloaded')
  expect(await ads.resync(ownership)).toBe('reloaded')
  expect(await ads.resync(ownership)).toBe('skipped')
})

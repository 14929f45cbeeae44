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

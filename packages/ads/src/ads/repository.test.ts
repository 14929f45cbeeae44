/**
 * The write's race paths, with a scripted stand-in for the collection: what another writer does between
 * this write's read and its write is exactly what a real server cannot be made to do on cue.
 */
import { describe, expect, test } from 'bun:test'
import { type Collection, type Db, MongoServerError } from 'mongodb'
import { at, processedEvent } from '../testing/events'
import type { AdDocument } from './model'
import { AdsRepository, adDocument, WriteContentionError } from './repository'

type Step = { findOne?: Partial<AdDocument> | null; insertOne?: 'ok' | 'duplicate'; updateOne?: number }

function scripted(steps: Step[], onApplied?: (doc: AdDocument) => void) {
  const calls: string[] = []
  const next = (op: keyof Step) => {
    const step = steps.shift()
    if (step === undefined || !(op in step))
      throw new Error(`unexpected ${op}; calls so far: ${calls.join(', ')}`)
    calls.push(op)
    return step[op]
  }
  const collection = {
    findOne: async () => next('findOne'),
    insertOne: async () => {
      if (next('insertOne') === 'duplicate') {
        throw new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 })
      }
      return { acknowledged: true }
    },
    updateOne: async () => ({ modifiedCount: next('updateOne'), matchedCount: 1 }),
  }
  const repo = new AdsRepository({} as Db, {
    collection: collection as unknown as Collection<AdDocument>,
    onApplied,
  })
  return { repo, calls }
}

const event = processedEvent({ occurredAt: at(10) })
const mine = adDocument(event).version
const older = adDocument(processedEvent({ occurredAt: at(1) })).version
const newer = adDocument(processedEvent({ occurredAt: at(20) })).version

describe('write paths', () => {
  test('no ad yet → one insert', async () => {
    const { repo, calls } = scripted([{ insertOne: 'ok' }])
    expect(await repo.upsert(event)).toBe('applied')
    expect(calls).toEqual(['insertOne'])
  })

  test('same or newer version stored → stale, nothing written', async () => {
    for (const version of [mine, newer]) {
      const { repo, calls } = scripted([{ insertOne: 'duplicate' }, { findOne: { version } }])
      expect(await repo.upsert(event)).toBe('stale')
      expect(calls).toEqual(['insertOne', 'findOne'])
    }
  })

  test('older version stored → guarded update', async () => {
    const { repo, calls } = scripted([
      { insertOne: 'duplicate' },
      { findOne: { version: older } },
      { updateOne: 1 },
    ])
    expect(await repo.upsert(event)).toBe('applied')
    expect(calls).toEqual(['insertOne', 'findOne', 'updateOne'])
  })

  test('the ad changes between read and guarded update → start again, then decide', async () => {
    const { repo, calls } = scripted([
      { insertOne: 'duplicate' },
      { findOne: { version: older } },
      { updateOne: 0 },
      { insertOne: 'duplicate' },
      { findOne: { version: newer } },
    ])
    expect(await repo.upsert(event)).toBe('stale')
    expect(calls).toEqual(['insertOne', 'findOne', 'updateOne', 'insertOne', 'findOne'])
  })

  test('the ad disappears between the duplicate key and the read → insert again', async () => {
    const { repo } = scripted([{ insertOne: 'duplicate' }, { findOne: null }, { insertOne: 'ok' }])
    expect(await repo.upsert(event)).toBe('applied')
  })

  test('endless contention gives up with a typed error (the projection retries the message)', async () => {
    const steps: Step[] = []
    for (let i = 0; i < 5; i++)
      steps.push({ insertOne: 'duplicate' }, { findOne: { version: older } }, { updateOne: 0 })
    await expect(scripted(steps).repo.upsert(event)).rejects.toThrow(WriteContentionError)
  })

  test('applied writes, and only those, are reported to onApplied', async () => {
    const seen: string[] = []
    const { repo } = scripted([{ insertOne: 'ok' }], (doc) => seen.push(doc.version))
    expect(
      await scripted([{ insertOne: 'duplicate' }, { findOne: { version: mine } }], (doc) =>
        seen.push(doc.version),
      ).repo.upsert(event),
    ).toBe('stale')
    expect(await repo.upsert(event)).toBe('applied')
    expect(seen).toEqual([mine])
  })
})

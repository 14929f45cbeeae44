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

function scripted(steps: Step[]) {
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
  const repo = new AdsRepository({} as Db, { collection: collection as unknown as Collection<AdDocument> })
  return { repo, calls }
}

const event = processedEvent({ occurredAt: at(10) })
const mine = adDocument(event).version
const older = adDocument(processedEvent({ occurredAt: at(1) })).version
const newer = adDocument(processedEvent({ occurredAt: at(20) })).version

describe('write paths', () => {
  test('no ad yet → insert', async () => {
    const { repo, calls } = scripted([{ findOne: null }, { insertOne: 'ok' }])
    expect(await repo.upsert(event)).toBe('applied')
    expect(calls).toEqual(['findOne', 'insertOne'])
  })

  test('same or newer version stored → stale, nothing written', async () => {
    expect(await scripted([{ findOne: { version: mine } }]).repo.upsert(event)).toBe('stale')
    expect(await scripted([{ findOne: { version: newer } }]).repo.upsert(event)).toBe('stale')
  })

  test('older version stored → guarded update', async () => {
    const { repo, calls } = scripted([{ findOne: { version: older } }, { updateOne: 1 }])
    expect(await repo.upsert(event)).toBe('applied')
    expect(calls).toEqual(['findOne', 'updateOne'])
  })

  test('another writer inserts between read and insert (duplicate key) → read again, then decide', async () => {
    const lost = scripted([{ findOne: null }, { insertOne: 'duplicate' }, { findOne: { version: newer } }])
    expect(await lost.repo.upsert(event)).toBe('stale')
    // The other writer inserted an OLDER version: ours still wins, through the guarded update.
    const won = scripted([
      { findOne: null },
      { insertOne: 'duplicate' },
      { findOne: { version: older } },
      { updateOne: 1 },
    ])
    expect(await won.repo.upsert(event)).toBe('applied')
  })

  test('the ad changes between read and guarded update → read again', async () => {
    const { repo, calls } = scripted([
      { findOne: { version: older } },
      { updateOne: 0 },
      { findOne: { version: newer } },
    ])
    expect(await repo.upsert(event)).toBe('stale')
    expect(calls).toEqual(['findOne', 'updateOne', 'findOne'])
  })

  test('endless contention gives up with a typed error (the projection retries the message)', async () => {
    const steps: Step[] = []
    for (let i = 0; i < 5; i++) steps.push({ findOne: { version: older } }, { updateOne: 0 })
    await expect(scripted(steps).repo.upsert(event)).rejects.toThrow(WriteContentionError)
  })
})

/**
 * The write's race paths, with a scripted stand-in for the collection: what another writer does between
 * this write's read and its write is exactly what a real server cannot be made to do on cue.
 */
import { describe, expect, test } from 'bun:test'
import {
  type BulkWriteResult,
  type Collection,
  type Db,
  MongoBulkWriteError,
  MongoServerError,
} from 'mongodb'
import { at, processedEvent } from '../testing/events'
import type { AdDocument } from './model'
import { AdsRepository, adDocument } from './repository'
import { IncompleteWriteError, WriteContentionError } from './write-errors'

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

  test('the ad already answers this created event (same causationId) → stale even at a newer version', async () => {
    const again = processedEvent({ occurredAt: at(30), causationId: event.causationId.toUpperCase() })
    const { repo, calls } = scripted([
      { insertOne: 'duplicate' },
      { findOne: { version: mine, causationId: event.causationId.toLowerCase() } },
    ])
    expect(await repo.upsert(again)).toBe('stale')
    expect(calls).toEqual(['insertOne', 'findOne'])
  })

  test('a stored ad without causationId (written before the field) is decided by version alone', async () => {
    const { repo } = scripted([{ insertOne: 'duplicate' }, { findOne: { version: older } }, { updateOne: 1 }])
    expect(await repo.upsert(event)).toBe('applied')
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

describe('batch writes (one unordered bulk insert)', () => {
  /** A collection whose bulkWrite answers as scripted; findOne finds every existing ad at `version`. */
  function bulk(answer: (count: number) => unknown, version?: string) {
    const applied: string[] = []
    const collection = {
      bulkWrite: async (operations: unknown[]) => {
        const outcome = answer(operations.length)
        if (outcome instanceof Error) throw outcome
        return outcome
      },
      findOne: async () => (version === undefined ? null : { version }),
    }
    const repo = new AdsRepository({} as Db, {
      collection: collection as unknown as Collection<AdDocument>,
      onApplied: (doc) => applied.push(doc._id),
    })
    return { repo, applied }
  }
  const result = (insertedCount: number) => ({ insertedCount }) as BulkWriteResult
  const events = [processedEvent({ occurredAt: at(10) }), processedEvent({ occurredAt: at(10) })]

  test('every insert acknowledged → all applied', async () => {
    const { repo, applied } = bulk((n) => result(n))
    expect(await repo.upsertMany(events)).toEqual(['applied', 'applied'])
    expect(applied.length).toBe(2)
  })

  test('a duplicate key on one → the others applied, that one compared with the stored version', async () => {
    const { repo, applied } = bulk(
      () =>
        new MongoBulkWriteError(
          { message: 'E11000', code: 11000, writeErrors: [{ index: 1, code: 11000 }] } as never,
          result(1),
        ),
      newer,
    )
    expect(await repo.upsertMany(events)).toEqual(['applied', 'stale'])
    expect(applied).toEqual([events[0]?.vehicle.id ?? 'first'])
  })

  test('two answers to one created event in a batch: the first is written, the second is stale', async () => {
    const vehicleId = crypto.randomUUID()
    const causationId = crypto.randomUUID()
    const first = processedEvent({ vehicleId, causationId, occurredAt: at(10), amount: 1 })
    const second = processedEvent({ vehicleId, causationId, occurredAt: at(20), amount: 2 })
    const written: number[] = []
    const collection = {
      bulkWrite: async (operations: { insertOne: { document: AdDocument } }[]) => {
        written.push(...operations.map((o) => o.insertOne.document.price.amount))
        return result(operations.length)
      },
    }
    const repo = new AdsRepository({} as Db, { collection: collection as unknown as Collection<AdDocument> })
    expect(await repo.upsertMany([first, second])).toEqual(['applied', 'stale'])
    expect(written).toEqual([1])
  })

  test('a bulk error without write errors (connection pool cleared: FerretDB stopping) is not success', async () => {
    const { repo, applied } = bulk(
      () => new MongoBulkWriteError({ message: 'Connection pool was cleared', code: 0 } as never, result(0)),
    )
    await expect(repo.upsertMany(events)).rejects.toBeInstanceOf(MongoBulkWriteError)
    expect(applied).toEqual([])
  })

  test('fewer inserts acknowledged than sent, no error → IncompleteWriteError, nothing counted applied', async () => {
    const { repo, applied } = bulk(() => result(1))
    await expect(repo.upsertMany(events)).rejects.toBeInstanceOf(IncompleteWriteError)
    expect(applied).toEqual([])
  })
})

import { describe, expect, test } from 'bun:test'
import type { ConsumedMessage } from '@vehicles/kafka'
import type { ProcessedVehicle } from '../ads/model'
import type { UpsertOutcome } from '../ads/repository'
import { processedEvent } from '../testing/events'
import { createProjectionHandler, type PoisonReason, type ProjectionDeps } from './projector'

class Poison extends Error {
  override readonly name = 'WireFormatError'
}
class RegistryDown extends Error {}
class DatabaseDown extends Error {}

function message(value: Buffer, offset: number): ConsumedMessage {
  return {
    topic: 't',
    partition: 0,
    offset: String(offset),
    key: 'k',
    value,
    headers: {},
    timestamp: 0,
    attempt: 1,
  }
}

const encode = (event: ProcessedVehicle) => Buffer.from(JSON.stringify(event))

function harness(overrides: Partial<ProjectionDeps> = {}) {
  const calls: string[] = []
  const stored: ProcessedVehicle[] = []
  const dlq: Array<{ offset: string; reason: string }> = []
  const metrics = {
    upserted: [] as UpsertOutcome[],
    deadLettered: [] as PoisonReason[],
    retries: 0,
    paused: [] as boolean[],
  }
  let failuresLeft = 0
  const controller = new AbortController()
  const deps: ProjectionDeps = {
    async decode(value) {
      const text = value.toString()
      if (text === 'garbage') throw new Poison('not the wire format')
      if (text === 'registry-down') throw new RegistryDown('registry unavailable')
      return JSON.parse(text) as ProcessedVehicle
    },
    poisonReason: (error) => (error instanceof Poison ? 'wire-format' : undefined),
    store: {
      async upsertMany(events) {
        if (failuresLeft > 0) {
          failuresLeft--
          calls.push('upsert failed')
          throw new DatabaseDown('connection refused')
        }
        calls.push('upsert ok')
        stored.push(...events)
        return events.map(() => 'applied' as const)
      },
    },
    isUnprojectable: (error) => error instanceof RangeError,
    async deadLetter(m, reason) {
      dlq.push({ offset: m.offset, reason })
    },
    flow: { pause: () => calls.push('pause'), resume: () => calls.push('resume') },
    log: { info() {}, warn() {}, error() {} },
    metrics: {
      upserted: (o) => metrics.upserted.push(o),
      deadLettered: (r) => metrics.deadLettered.push(r),
      storeRetried: () => metrics.retries++,
      paused: (p) => metrics.paused.push(p),
    },
    backoff: { initialMs: 1, maxMs: 4 },
    signal: controller.signal,
    ...overrides,
  }
  const projection = createProjectionHandler(deps)
  return {
    handler: projection.message,
    batch: projection.batch,
    projection,
    calls,
    stored,
    dlq,
    metrics,
    controller,
    failNext(n: number) {
      failuresLeft = n
    },
  }
}

describe('projection handler', () => {
  test('a decodable event is upserted and the handler resolves', async () => {
    const h = harness()
    const event = processedEvent()
    await h.handler(message(encode(event), 0))
    expect(h.stored).toEqual([event])
    expect(h.metrics.upserted).toEqual(['applied'])
  })

  test('poison goes to the DLQ with its reason, and the next good message is still applied', async () => {
    const h = harness()
    const good = processedEvent()
    await h.handler(message(Buffer.from('garbage'), 7))
    await h.handler(message(encode(good), 8))
    expect(h.dlq).toEqual([{ offset: '7', reason: 'wire-format: WireFormatError: not the wire format' }])
    expect(h.metrics.deadLettered).toEqual(['wire-format'])
    expect(h.stored).toEqual([good])
  })

  test('a registry outage is not poison: the handler throws so the message is retried, nothing dead-lettered', async () => {
    const h = harness()
    await expect(h.handler(message(Buffer.from('registry-down'), 1))).rejects.toThrow('registry unavailable')
    expect(h.dlq).toEqual([])
  })

  test('database down: pauses, retries the same event with backoff, resumes once written', async () => {
    const h = harness()
    const event = processedEvent()
    h.failNext(4)
    await h.handler(message(encode(event), 3))
    expect(h.calls).toEqual([
      'upsert failed',
      'pause',
      'upsert failed',
      'upsert failed',
      'upsert failed',
      'upsert ok',
      'resume',
    ])
    expect(h.stored).toEqual([event])
    expect(h.metrics.retries).toBe(4)
    expect(h.metrics.paused).toEqual([true, false])
    expect(h.projection.blocked).toBe(0)
  })

  test('two partitions blocked at once: one pause, one resume after both are written', async () => {
    const h = harness()
    h.failNext(6)
    await Promise.all([
      h.handler(message(encode(processedEvent()), 1)),
      h.handler(message(encode(processedEvent()), 2)),
    ])
    expect(h.calls.filter((c) => c === 'pause').length).toBe(1)
    expect(h.calls.filter((c) => c === 'resume').length).toBe(1)
    expect(h.calls.at(-1)).toBe('resume')
    expect(h.stored.length).toBe(2)
  })

  test('shutdown during the retry loop rejects: the message is not finished, so not committed', async () => {
    const h = harness({ backoff: { initialMs: 50, maxMs: 50 } })
    h.failNext(1_000)
    const pending = h.handler(message(encode(processedEvent()), 4))
    await Bun.sleep(20)
    h.controller.abort()
    await expect(pending).rejects.toThrow('connection refused')
    expect(h.stored).toEqual([])
    expect(h.projection.blocked).toBe(0)
  })

  test('an event the store can never order is dead-lettered as unprojectable', async () => {
    const h = harness({
      store: {
        async upsertMany(events) {
          return events.map(() => ({
            rejected: new RangeError('"2026-11-25T23:59:60Z" is not a valid date-time'),
          }))
        },
      },
    })
    await h.handler(message(encode(processedEvent()), 9))
    expect(h.dlq).toEqual([
      { offset: '9', reason: 'unprojectable: RangeError: "2026-11-25T23:59:60Z" is not a valid date-time' },
    ])
  })

  test('an unprojectable answer after a database outage still resumes the topic', async () => {
    let calls = 0
    const h = harness({
      store: {
        async upsertMany(events) {
          calls++
          if (calls === 1) throw new DatabaseDown('connection refused')
          return events.map(() => ({ rejected: new RangeError('cannot order') }))
        },
      },
    })
    await h.handler(message(encode(processedEvent()), 11))
    expect(h.calls).toEqual(['pause', 'resume'])
    expect(h.dlq.map((d) => d.offset)).toEqual(['11'])
    expect(h.projection.blocked).toBe(0)
  })

  test('a batch: poison in the middle goes to the DLQ alone, the rest is written in one store call', async () => {
    const h = harness()
    const a = processedEvent()
    const b = processedEvent()
    await h.batch({
      topic: 't',
      partition: 0,
      attempt: 1,
      messages: [message(encode(a), 20), message(Buffer.from('garbage'), 21), message(encode(b), 22)],
    })
    expect(h.dlq.map((d) => d.offset)).toEqual(['21'])
    expect(h.calls).toEqual(['upsert ok'])
    expect(h.stored).toEqual([a, b])
    expect(h.metrics.upserted).toEqual(['applied', 'applied'])
  })

  test('a batch with a registry outage anywhere throws before anything is dead-lettered or written', async () => {
    const h = harness()
    const pending = h.batch({
      topic: 't',
      partition: 0,
      attempt: 1,
      messages: [
        message(Buffer.from('garbage'), 30),
        message(encode(processedEvent()), 31),
        message(Buffer.from('registry-down'), 32),
      ],
    })
    await expect(pending).rejects.toThrow('registry unavailable')
    expect(h.dlq).toEqual([])
    expect(h.stored).toEqual([])
  })

  test('a batch of poison only resolves without a store call', async () => {
    const h = harness()
    await h.batch({
      topic: 't',
      partition: 0,
      attempt: 1,
      messages: [message(Buffer.from('garbage'), 40), message(Buffer.from('garbage'), 41)],
    })
    expect(h.dlq.map((d) => d.offset)).toEqual(['40', '41'])
    expect(h.calls).toEqual([])
  })
})

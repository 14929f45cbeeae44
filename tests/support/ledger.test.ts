/** The reconciliation the e2e and fault suites rely on: it must see every kind of loss and duplicate. */
import { describe, expect, test } from 'bun:test'
import { type ProcessedRecord, reconcile, type Snapshot, type TopicRecord, totals } from './ledger'
import { answerOf, parseRaw } from './topic-records'

const rec = (
  key: string,
  offset = 0,
  eventId = `${key}-event-${offset}`,
  price = 1_000,
): ProcessedRecord => ({
  partition: 0,
  offset,
  key,
  headers: `event-id=${eventId},event-type=test,content-type=application/json`,
  eventId,
  price,
})

function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    postgres: ['a', 'b', 'c'],
    halfWritten: [],
    outboxPending: 0,
    created: [rec('a'), rec('b'), rec('c')],
    processed: [rec('a'), rec('b'), rec('c')],
    dlq: [],
    ads: ['a', 'b', 'c'].map((id) => ({ id, priced: true, price: 1_000, eventId: `${id}-event-0` })),
    ...overrides,
  }
}

test('clean books: nothing lost, nothing duplicated', () => {
  const result = reconcile(new Set(['a', 'b', 'c']), snapshot())
  expect(totals(result)).toEqual({ lost: 0, duplicated: 0 })
  expect(result.vehicles).toBe(3)
})

test('a vehicle missing from a topic or the ads counts as lost, once per vehicle', () => {
  const result = reconcile(
    new Set(['a', 'b', 'c']),
    snapshot({
      processed: [rec('a'), rec('b')],
      ads: [
        { id: 'a', priced: true },
        { id: 'b', priced: true },
      ],
    }),
  )
  expect(result.lost.processed).toEqual(['c'])
  expect(result.lost.ads).toEqual(['c'])
  expect(totals(result)).toEqual({ lost: 1, duplicated: 0 })
})

test('an acknowledged id not in PostgreSQL is lost', () => {
  const result = reconcile(new Set(['a', 'b', 'c', 'd']), snapshot())
  expect(result.unstored).toEqual(['d'])
  expect(totals(result).lost).toBe(1)
})

test('two events of one vehicle on the created topic are a duplicate; other keys are ignored', () => {
  const result = reconcile(
    new Set(['a', 'b', 'c']),
    snapshot({
      created: [rec('a'), rec('b'), rec('c'), rec('b', 1), rec('someone-else')],
      processed: [rec('a'), rec('b'), rec('c'), rec('b', 1)],
    }),
  )
  expect(result.duplicated.created).toEqual(['b'])
  expect(result.duplicated.processed).toEqual([])
  expect(totals(result)).toEqual({ lost: 0, duplicated: 1 })
})

test('one event sent twice by the relay is a redelivery, and pricing both records is no duplicate', () => {
  const result = reconcile(
    new Set(['a', 'b', 'c']),
    snapshot({
      created: [rec('a'), rec('b', 0, 'e-b'), rec('c'), rec('b', 7, 'e-b')],
      // Both records answered with the same event (the estimator's answer is a function of the record).
      processed: [rec('a'), rec('b'), rec('c'), rec('b', 1, 'b-event-0')],
    }),
  )
  expect(result.redelivered).toEqual(['b'])
  expect(totals(result)).toEqual({ lost: 0, duplicated: 0 })
  expect(result.repriced).toEqual([])
})

test('more processed records than created records of a vehicle is a duplicate price', () => {
  const result = reconcile(
    new Set(['a', 'b', 'c']),
    snapshot({ processed: [rec('a'), rec('b'), rec('c'), rec('c', 1)] }),
  )
  expect(result.duplicated.processed).toEqual(['c'])
  expect(totals(result)).toEqual({ lost: 0, duplicated: 1 })
})

test('a record without an event-id header is never merged with another one', () => {
  const bare = (offset: number): TopicRecord => ({ partition: 1, offset, key: 'a', headers: '' })
  const result = reconcile(
    new Set(['a', 'b', 'c']),
    snapshot({ created: [bare(1), bare(2), rec('b'), rec('c')] }),
  )
  expect(result.duplicated.created).toEqual(['a'])
})

test('unpriced ads, half-written rows and dead letters are reported', () => {
  const result = reconcile(
    new Set(['a', 'b', 'c']),
    snapshot({
      ads: [
        { id: 'a', priced: true },
        { id: 'b', priced: false },
        { id: 'c', priced: true },
      ],
      halfWritten: ['x'],
      dlq: [rec('poison')],
    }),
  )
  expect(result.unpriced).toEqual(['b'])
  expect(result.halfWritten).toEqual(['x'])
  expect(result.dlq).toBe(1)
})

describe('re-priced: two prices or two answers for one vehicle', () => {
  test('two prices on the processed topic', () => {
    const result = reconcile(
      new Set(['a', 'b', 'c']),
      snapshot({ processed: [rec('a'), rec('b'), rec('c'), rec('c', 1, 'c-event-0', 2_000)] }),
    )
    expect(result.repriced).toEqual(['c'])
  })

  test('two processed event ids with the same price', () => {
    const result = reconcile(
      new Set(['a', 'b', 'c']),
      snapshot({ processed: [rec('a'), rec('b'), rec('b', 1, 'another-answer'), rec('c')] }),
    )
    expect(result.repriced).toEqual(['b'])
  })

  test('an ad holding another price or another event than the topic', () => {
    const result = reconcile(
      new Set(['a', 'b', 'c']),
      snapshot({
        ads: [
          { id: 'a', priced: true, price: 1_000, eventId: 'a-event-0' },
          { id: 'b', priced: true, price: 999, eventId: 'b-event-0' },
          { id: 'c', priced: true, price: 1_000, eventId: 'C-EVENT-9' },
        ],
      }),
    )
    expect(result.repriced).toEqual(['b', 'c'])
  })

  test('the same answer twice is not re-pricing; event ids compare case-insensitively', () => {
    const result = reconcile(
      new Set(['a', 'b', 'c']),
      snapshot({ processed: [rec('a'), rec('b'), rec('c'), rec('a', 3, 'A-EVENT-0')] }),
    )
    expect(result.repriced).toEqual([])
  })
})

test('kcat output is cut by the value lengths: schema ids whose bytes are a tab or a newline', () => {
  const value = (schemaId: number, body: object) => {
    const head = Buffer.alloc(5)
    head.writeUInt32BE(schemaId, 1)
    return Buffer.concat([head, Buffer.from(JSON.stringify(body))])
  }
  const first = value(0x0a09_0a0a, { eventId: 'e-1', price: { amount: 12_340, currency: 'EUR' } })
  const second = value(10, { eventId: 'e-2', price: { amount: 5_000, currency: 'EUR' } })
  const out = Buffer.concat([
    Buffer.from(`3 17 ${first.length} v-1\tevent-id=e-1\n`),
    first,
    Buffer.from('\n'),
    Buffer.from(`3 18 ${second.length} v-2\tevent-id=e-2\n`),
    second,
    Buffer.from('\n3 19 -1 v-3\t\n\n'),
  ])
  expect(parseRaw(out)).toEqual([
    { partition: 3, offset: 17, key: 'v-1', headers: 'event-id=e-1', value: first },
    { partition: 3, offset: 18, key: 'v-2', headers: 'event-id=e-2', value: second },
    { partition: 3, offset: 19, key: 'v-3', headers: '', value: null },
  ])
})

test("a processed record's event id and price come from its value; anything else is undecodable", () => {
  const where = { partition: 2, offset: 9, key: 'k', headers: '' }
  const wire = (body: string) => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), Buffer.from(body)])
  expect(answerOf(wire('{"eventId":"e-9","price":{"amount":4200,"currency":"EUR"}}'), where)).toEqual({
    eventId: 'e-9',
    price: 4_200,
  })
  for (const bad of [null, Buffer.from('{"eventId":"x"}'), wire('not json'), wire('{"price":{"amount":1}}')])
    expect(answerOf(bad, where)).toEqual({ eventId: 'undecodable@2/9', price: undefined })
})

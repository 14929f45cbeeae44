/** The reconciliation the e2e and fault suites rely on: it must see every kind of loss and duplicate. */
import { expect, test } from 'bun:test'
import { reconcile, type Snapshot, type TopicRecord, totals } from './ledger'

const rec = (key: string, offset = 0, eventId = `${key}-event-${offset}`): TopicRecord => ({
  partition: 0,
  offset,
  key,
  headers: `event-id=${eventId},event-type=test,content-type=application/json`,
})

function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    postgres: ['a', 'b', 'c'],
    halfWritten: [],
    outboxPending: 0,
    created: [rec('a'), rec('b'), rec('c')],
    processed: [rec('a'), rec('b'), rec('c')],
    dlq: [],
    ads: ['a', 'b', 'c'].map((id) => ({ id, priced: true })),
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
      processed: [rec('a'), rec('b'), rec('c'), rec('b', 1)],
    }),
  )
  expect(result.redelivered).toEqual(['b'])
  expect(totals(result)).toEqual({ lost: 0, duplicated: 0 })
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

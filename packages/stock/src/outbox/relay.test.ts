import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { ContractViolation, TOPICS } from '@vehicles/contracts'
import { createLogger, Registry } from '@vehicles/platform'
import { type Database, openPglite } from '../db/database'
import { enqueueCte, OUTBOX_CHANNEL, outboxEntry } from './enqueue'
import type { OutgoingEvent, Publisher } from './publisher'
import { createRelay } from './relay'

const PARTITIONS = 3
const partitionFor = (key: string, count: number) =>
  [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % count

/**
 * A publisher that keeps the topic in memory (one array per partition; each publish one transaction,
 * visible only when it commits) and fails on demand: `down` commits nothing, `ackLost` commits and then
 * fails (the acknowledgement never reached the relay), `commitOnly` commits the records of those keys
 * only and then fails: no real transaction does that, but it shows that reading back identifies rows
 * instead of assuming which of them made it.
 */
function fakePublisher() {
  const published: OutgoingEvent[][] = []
  const log = new Map<string, OutgoingEvent[][]>()
  const partitions = (topic: string) => {
    let list = log.get(topic)
    if (list === undefined) {
      list = Array.from({ length: PARTITIONS }, () => [])
      log.set(topic, list)
    }
    return list
  }
  const state = {
    down: false,
    started: 0,
    closed: 0,
    ackLost: false,
    commitOnly: undefined as Set<string> | undefined,
  }
  const written = () => [...log.values()].flatMap((list) => list.flat())
  const publisher: Publisher = {
    async start() {
      state.started++
    },
    encode(event) {
      const payload = event.payload as { broken?: boolean }
      if (payload.broken)
        throw new ContractViolation('test', [{ field: 'x', rule: 'type', message: 'broken' }])
      return Buffer.from(JSON.stringify(event.payload))
    },
    async publish(events) {
      if (state.down) throw new Error('all brokers down')
      const deliveries = []
      const only = state.commitOnly
      for (const { event } of events) {
        if (only !== undefined && !only.has(event.key)) continue
        const partition = partitionFor(event.key, PARTITIONS)
        const list = partitions(event.topic)[partition] as OutgoingEvent[]
        list.push(event)
        deliveries.push({ topic: event.topic, partition, offset: String(list.length - 1) })
      }
      if (state.ackLost || only !== undefined) throw new Error('transaction not committed within 15000 ms')
      published.push(events.map((e) => e.event))
      return deliveries
    },
    async endOffsets(topics) {
      const end = (list: OutgoingEvent[]) => ({ high: BigInt(list.length), stable: BigInt(list.length) })
      return new Map(topics.map((t) => [t, partitions(t).map(end)]))
    },
    async readBack(topic, partition, fromOffset) {
      const list = partitions(topic)[partition] ?? []
      return list
        .map((event, offset) => ({ offset: String(offset), outboxId: event.headers['outbox-id'] }))
        .filter((r) => BigInt(r.offset) >= BigInt(fromOffset))
    },
    async ping() {},
    async close() {
      state.closed++
    },
  }
  return { publisher, published, state, written }
}

let db: Database
const lines: string[] = []
const logger = createLogger({ service: 'test', write: (l) => lines.push(l) })

beforeAll(async () => {
  db = await openPglite('memory://')
})
afterAll(async () => {
  await db.close()
})
beforeEach(async () => {
  await db.query('delete from outbox')
  await db.query('delete from outbox_relay_offsets')
})

async function enqueue(aggregateId: string, payload: Record<string, unknown> = {}) {
  const entry = outboxEntry({
    topic: TOPICS.vehicleCreated,
    aggregateType: 'vehicle',
    aggregateId,
    eventId: crypto.randomUUID(),
    payload: { aggregateId, ...payload },
  })
  const cte = enqueueCte('src', 1, entry)
  await db.query(`with src as (select 1), ${cte.text} select count(*) from o`, cte.params)
  return entry
}

const pending = async () =>
  (
    await db.query<{ n: number }>(
      'select count(*)::int as n from outbox where sent_at is null and failed_at is null',
    )
  )[0]?.n

const relayWith = (publisher: Publisher, batchSize = 10) =>
  createRelay({
    db,
    publisher,
    logger,
    registry: new Registry(),
    batchSize,
    pollIntervalMs: 60_000,
    backoffMinMs: 10,
    backoffMaxMs: 20,
  })

test('sends pending rows in id order with key and headers, marks them sent', async () => {
  const { publisher, published } = fakePublisher()
  const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
  for (const id of ids) await enqueue(id)
  const relay = relayWith(publisher)
  expect(await relay.runOnce()).toBe(3)
  expect(published).toHaveLength(1)
  expect(published[0]?.map((e) => e.key)).toEqual(ids)
  expect(published[0]?.[0]?.headers['event-type']).toBe(TOPICS.vehicleCreated)
  expect(await pending()).toBe(0)
  expect(await relay.runOnce()).toBe(0)
})

test('a failed send marks nothing and records the attempt; the next run sends', async () => {
  const { publisher, published, state } = fakePublisher()
  await enqueue(crypto.randomUUID())
  const relay = relayWith(publisher)
  state.down = true
  await expect(relay.runOnce()).rejects.toThrow('all brokers down')
  expect(await pending()).toBe(1)
  const [row] = await db.query<{ attempts: number; last_error: string }>(
    'select attempts, last_error from outbox',
  )
  expect(row).toEqual({ attempts: 1, last_error: 'all brokers down' })
  state.down = false
  expect(await relay.runOnce()).toBe(1)
  expect(published.flat()).toHaveLength(1)
  expect(await pending()).toBe(0)
})

test("one vehicle's events leave in id order, also when a batch boundary falls between them", async () => {
  const { publisher, published } = fakePublisher()
  const vehicle = crypto.randomUUID()
  const other = crypto.randomUUID()
  await enqueue(vehicle, { n: 1 })
  await enqueue(other, { n: 1 })
  await enqueue(vehicle, { n: 2 })
  await enqueue(vehicle, { n: 3 })
  const relay = relayWith(publisher, 2)
  expect(await relay.runOnce()).toBe(2)
  expect(await relay.runOnce()).toBe(2)
  const order = published.flat().filter((e) => e.key === vehicle)
  expect(order.map((e) => (e.payload as { n: number }).n)).toEqual([1, 2, 3])
})

test('ids are read in number order across a change in their digit count (99, 100, …), each row once', async () => {
  const { publisher, published } = fakePublisher()
  await db.query('alter sequence outbox_id_seq restart with 95')
  for (let i = 0; i < 12; i++) await enqueue(crypto.randomUUID())
  const relay = relayWith(publisher, 4)
  while ((await relay.runOnce()) > 0) {}
  const ids = published.flat().map((e) => Number(e.headers['outbox-id']))
  expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => 95 + i))
})

test('a row that breaks its schema is marked failed and does not block the others', async () => {
  const { publisher, published } = fakePublisher()
  await enqueue(crypto.randomUUID(), { broken: true })
  const good = await enqueue(crypto.randomUUID())
  const relay = relayWith(publisher)
  expect(await relay.runOnce()).toBe(2)
  expect(published.flat().map((e) => e.key)).toEqual([good.key])
  const [failed] = await db.query<{ n: number }>(
    'select count(*)::int as n from outbox where failed_at is not null',
  )
  expect(failed?.n).toBe(1)
  expect(lines.some((l) => l.includes('outbox.row_failed'))).toBe(true)
})

test('the running relay backs off while sends fail, reports it, and catches up after', async () => {
  const { publisher, published, state } = fakePublisher()
  state.down = true
  const relay = relayWith(publisher, 2)
  for (let i = 0; i < 5; i++) await enqueue(crypto.randomUUID())
  relay.start()
  const deadline = Date.now() + 5_000
  while (relay.status().state !== 'backing_off' && Date.now() < deadline) await Bun.sleep(5)
  expect(relay.status().state).toBe('backing_off')
  expect(relay.status().lastError).toBe('all brokers down')
  state.down = false
  while ((await pending()) !== 0 && Date.now() < deadline) await Bun.sleep(10)
  expect(await pending()).toBe(0)
  expect(published.flat()).toHaveLength(5)
  await relay.stop()
  expect(relay.status().state).toBe('stopped')
})

test('a NOTIFY wakes the idle relay (polling interval here is a minute)', async () => {
  const { publisher, published } = fakePublisher()
  const relay = relayWith(publisher)
  relay.start()
  const deadline = Date.now() + 5_000
  while (!relay.status().listening && Date.now() < deadline) await Bun.sleep(5)
  await Bun.sleep(50) // the first (empty) batch is done; the relay now sleeps
  const entry = await enqueue(crypto.randomUUID())
  await db.query(`select pg_notify('${OUTBOX_CHANNEL}', '')`)
  while (published.flat().length === 0 && Date.now() < deadline) await Bun.sleep(5)
  expect(published.flat().map((e) => e.key)).toEqual([entry.key])
  await relay.stop()
})

test('read-ahead: batches read while a send waits leave together; every row once, in id order', async () => {
  const { publisher, published } = fakePublisher()
  const slow: Publisher = {
    ...publisher,
    async publish(events) {
      await Bun.sleep(20)
      return await publisher.publish(events)
    },
  }
  const vehicle = crypto.randomUUID()
  const keys: string[] = []
  for (let i = 0; i < 40; i++) {
    keys.push((await enqueue(crypto.randomUUID())).key)
    if (i % 10 === 0) await enqueue(vehicle, { n: i })
  }
  const relay = createRelay({
    db,
    publisher: slow,
    logger,
    registry: new Registry(),
    batchSize: 3,
    concurrency: 4,
    pollIntervalMs: 20,
    backoffMinMs: 10,
    backoffMaxMs: 20,
  })
  relay.start()
  const deadline = Date.now() + 10_000
  while ((await pending()) !== 0 && Date.now() < deadline) await Bun.sleep(10)
  await relay.stop()
  const sentKeys = published.flat().map((e) => e.key)
  expect(sentKeys.filter((k) => k !== vehicle)).toEqual(keys)
  expect(
    published
      .flat()
      .filter((e) => e.key === vehicle)
      .map((e) => (e.payload as { n: number }).n),
  ).toEqual([0, 10, 20, 30])
  // The first send is one read of 3 × 4 rows; none is larger.
  expect(published[0]).toHaveLength(12)
  expect(Math.max(...published.map((p) => p.length))).toBe(12)
  const ids = published.flat().map((e) => Number(e.headers['outbox-id']))
  expect(ids).toEqual([...ids].sort((a, b) => a - b)) // each record names its row, in id order
})

test('a transaction Kafka committed but did not acknowledge in time is not sent again: its rows are found by id', async () => {
  const { publisher, published, state, written } = fakePublisher()
  for (let i = 0; i < 6; i++) await enqueue(crypto.randomUUID())
  const relay = relayWith(publisher)
  state.ackLost = true
  await expect(relay.runOnce()).rejects.toThrow('not committed')
  expect(written()).toHaveLength(6) // on the topic, but the relay was told it failed
  expect(await pending()).toBe(6)
  state.ackLost = false
  expect(await relay.runOnce()).toBe(0) // nothing left to send: all six were found on the topic
  expect(await pending()).toBe(0)
  expect(published).toHaveLength(0)
  expect(written()).toHaveLength(6)
  expect(state.started).toBe(2) // a new producer session before the read-back
  expect(lines.some((l) => l.includes('outbox.relay.recovered_rows') && l.includes('"found":6'))).toBe(true)
})

test('reading back marks exactly the rows whose ids are on the topic, wherever they sit; the others are sent again', async () => {
  const { publisher, state, written } = fakePublisher()
  const vehicle = crypto.randomUUID()
  await enqueue(vehicle, { n: 1 })
  for (let i = 0; i < 9; i++) await enqueue(crypto.randomUUID())
  const relay = relayWith(publisher, 20)
  // A first clean send, so the relay has recorded offsets that are not zero.
  expect(await relay.runOnce()).toBe(10)
  const later: string[] = []
  for (let i = 0; i < 12; i++) later.push((await enqueue(crypto.randomUUID())).key)
  await enqueue(vehicle, { n: 2 })
  // Every other row of the failed send reached the topic: no prefix, no count could tell which.
  state.commitOnly = new Set(later.filter((_, i) => i % 2 === 1))
  await expect(relay.runOnce()).rejects.toThrow('not committed')
  state.commitOnly = undefined
  while ((await relay.runOnce()) > 0) {}
  expect(await pending()).toBe(0)
  const all = written()
  expect(all).toHaveLength(23)
  expect(new Set(all.map((e) => e.headers['event-id'])).size).toBe(23) // no event twice
  const order = all.filter((e) => e.key === vehicle).map((e) => (e.payload as { n: number }).n)
  expect(order).toEqual([1, 2])
})

test('a relay whose leader lock is gone marks nothing and moves no offset', async () => {
  const { publisher } = fakePublisher()
  for (let i = 0; i < 3; i++) await enqueue(crypto.randomUUID())
  const relay = relayWith(publisher)
  expect(await relay.runOnce()).toBe(3)
  const before = await db.query('select * from outbox_relay_offsets order by partition')
  await enqueue(crypto.randomUUID())
  // The lock goes (as when the session dies) between the read and the mark.
  const sneaky: Publisher = {
    ...publisher,
    async publish(events) {
      await db.query('select pg_advisory_unlock_all()')
      return await publisher.publish(events)
    },
  }
  const deposed = relayWith(sneaky)
  await expect(deposed.runOnce()).rejects.toThrow('no longer holds the lock')
  expect(await pending()).toBe(1)
  expect(await db.query('select * from outbox_relay_offsets order by partition')).toEqual(before)
})

test('after a failure the relay resumes only once the cluster is writable, with a fresh client', async () => {
  const { publisher, published, state } = fakePublisher()
  let writable = false
  const gated: Publisher = {
    ...publisher,
    async writable() {
      if (!writable) throw new Error('stock.vehicle-created/0 has 1 in-sync replica(s) of 2 needed')
    },
  }
  await enqueue(crypto.randomUUID())
  state.down = true
  const relay = relayWith(gated)
  relay.start()
  const deadline = Date.now() + 5_000
  while (relay.status().consecutiveFailures < 1 && Date.now() < deadline) await Bun.sleep(5)
  state.down = false // Kafka answers again, but the cluster is not writable yet
  while (relay.status().consecutiveFailures < 3 && Date.now() < deadline) await Bun.sleep(5)
  expect(published).toHaveLength(0)
  expect(relay.status().lastError).toContain('in-sync replica')
  writable = true
  while ((await pending()) !== 0 && Date.now() < deadline) await Bun.sleep(5)
  expect(published.flat()).toHaveLength(1)
  expect(state.started).toBe(2) // a new producer session after the failed send, opened once writable
  expect(state.closed).toBeGreaterThanOrEqual(2) // each one after closing the one before
  await relay.stop()
})

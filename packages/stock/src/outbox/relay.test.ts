import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { ContractViolation, TOPICS } from '@vehicles/contracts'
import { createLogger, Registry } from '@vehicles/platform'
import { type Database, openPglite } from '../db/database'
import { enqueueCte, OUTBOX_CHANNEL, outboxEntry } from './enqueue'
import type { OutgoingEvent, Publisher } from './publisher'
import { createRelay } from './relay'

/** A publisher that records what it was given, and fails on demand. */
function fakePublisher() {
  const published: OutgoingEvent[][] = []
  const state = { down: false, started: 0 }
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
      published.push(events.map((e) => e.event))
    },
    async ping() {},
    async close() {},
  }
  return { publisher, published, state }
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

test("one vehicle's events leave one after another, in id order, never together in one batch out of order", async () => {
  const { publisher, published } = fakePublisher()
  const vehicle = crypto.randomUUID()
  const other = crypto.randomUUID()
  await enqueue(vehicle, { n: 1 })
  await enqueue(other, { n: 1 })
  await enqueue(vehicle, { n: 2 })
  const relay = relayWith(publisher)
  expect(await relay.runOnce()).toBe(2) // the vehicle's second event waits for its first
  expect(await relay.runOnce()).toBe(1)
  const order = published.flat().filter((e) => e.key === vehicle)
  expect(order.map((e) => (e.payload as { n: number }).n)).toEqual([1, 2])
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

test('several lanes: every row sent exactly once, one vehicle still in order', async () => {
  const { publisher, published } = fakePublisher()
  const slow: Publisher = {
    ...publisher,
    async publish(events) {
      await Bun.sleep(2)
      await publisher.publish(events)
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
    concurrency: 3,
    pollIntervalMs: 20,
    backoffMinMs: 10,
    backoffMaxMs: 20,
  })
  relay.start()
  const deadline = Date.now() + 10_000
  while ((await pending()) !== 0 && Date.now() < deadline) await Bun.sleep(10)
  await relay.stop()
  const sentKeys = published.flat().map((e) => e.key)
  expect(sentKeys.filter((k) => k !== vehicle).sort()).toEqual([...keys].sort())
  expect(
    published
      .flat()
      .filter((e) => e.key === vehicle)
      .map((e) => (e.payload as { n: number }).n),
  ).toEqual([0, 10, 20, 30])
})

test('after a failure the relay resumes only once the cluster is writable, with a fresh client', async () => {
  const { publisher, published, state } = fakePublisher()
  let writable = false
  let closed = 0
  const gated: Publisher = {
    ...publisher,
    async writable() {
      if (!writable) throw new Error('stock.vehicle-created/0 has 1 in-sync replica(s) of 2 needed')
    },
    async close() {
      closed++
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
  expect(closed).toBe(1) // the client of the failed send was closed
  writable = true
  while ((await pending()) !== 0 && Date.now() < deadline) await Bun.sleep(5)
  expect(published.flat()).toHaveLength(1)
  expect(state.started).toBe(2) // a new client after the failed send
  await relay.stop()
})

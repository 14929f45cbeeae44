/**
 * vehicles-stock under faults, on the real stack. These tests stop shared components (all Kafka
 * brokers) and kill the service mid-burst: they disturb everyone using the stack, so `bun run test`
 * runs them late, in the fault step. The brokers are always started again, and the test waits until
 * every partition has its full ISR before it ends.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { TOPICS, type Vehicle } from '@vehicles/contracts'
import {
  createTestDatabase,
  duplicates,
  recordsWithKeys,
  stackEnv,
  type TestDatabase,
  waitFor,
  waitForFullIsr,
  waitForKeys,
} from '@vehicles/testing'
import { startComponent, stopComponent } from '../../../infra/stack/control'
import { postVehicle, type StockProcess, startStock, vehicleBody } from './testing/stock-process'

const env = stackEnv()
const BROKERS = ['kafka-1', 'kafka-2', 'kafka-3']
const databases: TestDatabase[] = []
const processes: StockProcess[] = []

const stackVars = (database: TestDatabase, extra: Record<string, string> = {}) => ({
  DATABASE_URL: database.url,
  KAFKA_BROKERS: env.KAFKA_BROKERS,
  SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
  RELAY_POLL_INTERVAL_MS: '500',
  RELAY_BACKOFF_MAX_MS: '2000',
  KAFKA_DELIVERY_TIMEOUT_MS: '10000',
  ...extra,
})

async function wholeCluster() {
  for (const name of BROKERS) await startComponent(name)
  await waitForFullIsr(env.KAFKA_BROKERS, 180_000)
}

afterAll(async () => {
  for (const p of processes) await p.stop('SIGKILL')
  await wholeCluster()
  for (const d of databases) await d.drop()
})

/** Every id exactly once on the topic, nothing pending in the outbox. */
async function expectExactlyOnce(ids: ReadonlySet<string>, database: TestDatabase, timeoutMs: number) {
  await waitForKeys(TOPICS.vehicleCreated, ids, timeoutMs)
  await Bun.sleep(2_000) // anything sent twice would show up by now
  const records = await recordsWithKeys(TOPICS.vehicleCreated, ids)
  expect(duplicates(records)).toEqual({})
  expect(records.length).toBe(ids.size)
  const [pending] = await database.sql<{ n: number }[]>`
    select count(*)::int as n from outbox where sent_at is null`
  expect(pending?.n).toBe(0)
}

describe('Kafka stopped (all brokers)', () => {
  test('POSTs still answer 201; after Kafka is back every event arrives exactly once', async () => {
    const database = await createTestDatabase('stock_fault_kafka')
    databases.push(database)
    const stock = await startStock(stackVars(database))
    processes.push(stock)
    const ids = new Set<string>()
    const post = async (n: number) => {
      const r = await postVehicle(stock.url, vehicleBody(n))
      expect(r.status).toBe(201)
      ids.add((r.json as Vehicle).id)
      return r
    }
    for (let i = 0; i < 5; i++) await post(i)
    await waitForKeys(TOPICS.vehicleCreated, ids, 30_000)

    try {
      await Promise.all(BROKERS.map((name) => stopComponent(name)))
      const started = performance.now()
      for (let i = 0; i < 60; i++) await post(100 + i)
      const perPostMs = (performance.now() - started) / 60
      console.log(`60 POSTs with every broker down: ${perPostMs.toFixed(1)} ms each on average`)

      // The relay says so: readiness degraded (still 200: writes are accepted), back-off, errors counted.
      const report = await waitFor(
        'the relay to report back-off',
        async () => {
          const response = await fetch(`${stock.url}/health/ready`)
          const body = (await response.json()) as {
            status: string
            checks: { outbox: { ok: boolean; detail: { relay: string; pending: number } } }
          }
          return response.status === 200 && body.checks.outbox.detail.relay === 'backing_off'
            ? body
            : undefined
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      )
      expect(report.status).toBe('degraded')
      expect(report.checks.outbox.detail.pending).toBeGreaterThanOrEqual(60)
      expect(await stock.metric('outbox_relay_errors_total')).toBeGreaterThan(0)
      expect(stock.logs().some((l) => l.event === 'outbox.relay.backoff')).toBe(true)
    } finally {
      await wholeCluster()
    }
    try {
      await expectExactlyOnce(ids, database, 120_000)
    } catch (error) {
      // What the relay went through, to tell a lost or doubled event's story.
      const relayLines = stock.logs().filter((l) => String(l.event ?? '').startsWith('outbox'))
      console.log(relayLines.map((l) => JSON.stringify(l)).join('\n'))
      throw error
    }
    expect(stock.logs().some((l) => l.event === 'outbox.relay.recovered')).toBe(true)
  }, 420_000)
})

describe('SIGTERM during a burst of POSTs', () => {
  test('every 201 has its event on Kafka after restart', async () => {
    const database = await createTestDatabase('stock_fault_sigterm')
    databases.push(database)
    const first = await startStock(stackVars(database))
    processes.push(first)
    const ids = new Set<string>()
    let failed = 0
    let stopping = false
    let n = 0
    const worker = async () => {
      // Posts until the service stops answering (its listener closed on SIGTERM).
      for (;;) {
        try {
          const r = await postVehicle(first.url, vehicleBody(n++))
          if (r.status === 201) ids.add((r.json as Vehicle).id)
          else failed++
        } catch {
          failed++
          if (stopping) return
        }
      }
    }
    const workers = Array.from({ length: 8 }, worker)
    // Let the burst get going (connections warm), then SIGTERM in the middle of it.
    await waitFor('50 answered POSTs', () => (ids.size >= 50 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 10,
    })
    stopping = true
    const exitCode = await first.stop('SIGTERM')
    await Promise.all(workers)
    console.log(`burst: ${ids.size} answered 201, ${failed} refused or failed, exit ${exitCode}`)
    expect(exitCode).toBe(0)
    expect(ids.size).toBeGreaterThan(0)

    // Every 201 is a row in PostgreSQL...
    const rows = await database.sql<{ id: string }[]>`select id::text from vehicles`
    const stored = new Set(rows.map((r) => r.id))
    expect([...ids].filter((id) => !stored.has(id))).toEqual([])

    // ...and after a restart, an event on Kafka, exactly once.
    const second = await startStock(stackVars(database))
    processes.push(second)
    await expectExactlyOnce(ids, database, 60_000)
    expect(await second.stop('SIGTERM')).toBe(0)
  }, 180_000)
})

describe('the relay process killed (SIGKILL) in the middle of its sends', () => {
  test('twice: every event on Kafka exactly once, none lost; the next leader reads back what the dead one left', async () => {
    const database = await createTestDatabase('stock_fault_sigkill')
    databases.push(database)
    // The backlog first, with no relay, through the API.
    const writer = await startStock(stackVars(database, { RELAY_ENABLED: 'false' }))
    processes.push(writer)
    const ids = new Set<string>()
    let n = 0
    const total = 3_000
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (n < total) {
          const r = await postVehicle(writer.url, vehicleBody(20_000 + n++))
          expect(r.status).toBe(201)
          ids.add((r.json as Vehicle).id)
        }
      }),
    )
    expect(ids.size).toBe(total)
    // Small sends, so that the relay is killed with one in flight rather than between two.
    const relayVars = stackVars(database, {
      RELAY_BATCH_SIZE: '40',
      RELAY_CONCURRENCY: '1',
      KAFKA_DELIVERY_TIMEOUT_MS: '5000',
    })
    const counts = async () => {
      const [row] = await database.sql<{ sent: number; pending: number }[]>`
        select count(*) filter (where sent_at is not null)::int as sent,
               count(*) filter (where sent_at is null)::int as pending
        from outbox`
      if (row === undefined) throw new Error('no counts')
      return row
    }
    const killedWith: { sent: number; pending: number }[] = []
    for (const atLeast of [600, 1_500]) {
      const relay = await startStock(relayVars)
      processes.push(relay)
      await waitFor(
        `${atLeast} rows sent (relay pid ${relay.pid})`,
        async () => ((await counts()).sent >= atLeast ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 5 },
      )
      expect(await relay.stop('SIGKILL')).not.toBe(0)
      const at = await counts()
      console.log(`killed relay pid ${relay.pid}: ${JSON.stringify(at)}`)
      killedWith.push(at)
    }
    // Killed mid-stream: rows were still pending at the moment of death.
    for (const at of killedWith) expect(at.pending).toBeGreaterThan(0)

    const last = await startStock(relayVars)
    processes.push(last)
    try {
      await expectExactlyOnce(ids, database, 90_000)
    } catch (error) {
      const relayLines = last.logs().filter((l) => String(l.event ?? '').startsWith('outbox'))
      console.log(relayLines.map((l) => JSON.stringify(l)).join('\n'))
      throw error
    }
    // The last leader read back what the dead ones left before sending anything.
    const recovered = last.logs().find((l) => l.event === 'outbox.relay.recovered_rows')
    console.log(`the last leader read back: ${JSON.stringify(recovered)}`)
    expect(recovered).toBeDefined()
    expect(await last.metric('outbox_relay_leader')).toBe(1)
    expect(await last.stop('SIGTERM')).toBe(0)
  }, 240_000)
})

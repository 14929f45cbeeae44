/**
 * Outbox → Kafka latency at a low rate: how long one inserted row waits until the transaction holding
 * it is committed on the topic, with the stock's relay (its publisher, the Kafka module's transactional
 * producer) on a fresh database and a fresh 6-partition RF 3 topic.
 *
 * Rows are inserted one statement each at `--rate` per second, the statement NOTIFYing `outbox` as the
 * stock's POST does (delivered at commit). Per row, on this process's clock: the insert's commit
 * acknowledged → the publish holding the row begins (LISTEN wake, read, waiting for the transaction in
 * flight) → its commit acknowledged (begin, produce, linger, commit).
 *
 * `--rotation n`: the transactional ids the relay commits on in turn (default: the stock's RELAY_ROTATION).
 *
 * bun bench/relay/latency.ts [--rate 50] [--rows 500] [--rotation 8]
 */
import { TOPICS } from '../../packages/contracts/src/index'
import { createAdmin } from '../../packages/kafka/src/index'
import { createLogger } from '../../packages/platform/src/index'
import { openPostgres } from '../../packages/stock/src/db/database'
import { OUTBOX_CHANNEL } from '../../packages/stock/src/outbox/enqueue'
import {
  createKafkaPublisher,
  OUTBOX_ID_HEADER,
  type Publisher,
  RELAY_ROTATION,
} from '../../packages/stock/src/outbox/publisher'
import { createRelay } from '../../packages/stock/src/outbox/relay'
import { postgres, stackEnv } from '../../packages/testing/src/index'
import { intArg } from '../lib/args'
import { freshDatabase, runTag } from '../lib/database'
import { openLoop } from '../lib/open-loop'

const RATE = intArg('rate', 50, 1, 1_000)
const ROWS = intArg('rows', 500, 10, 100_000)
const ROTATION = intArg('rotation', RELAY_ROTATION, 1, 16)
const env = stackEnv()
const brokers = env.KAFKA_BROKERS.split(',')
const tag = runTag()
const topic = `bench.relay-latency.${tag}`

const committedAt = new Map<string, number>()
const sendAt = new Map<string, number>()
const doneAt = new Map<string, number>()

const admin = createAdmin({ brokers, clientId: `bench-latency-admin-${tag}` })
await admin.connect()
await admin.createTopics([
  { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
])
const fresh = await freshDatabase(`bench_latency_${tag}`)
const db = openPostgres({
  url: fresh.url,
  max: 10,
  connectTimeoutSeconds: 5,
  applicationName: 'bench-latency',
})
const inner = createKafkaPublisher({
  brokers,
  registryUrl: env.SCHEMA_REGISTRY_URL,
  clientId: `bench-latency-${tag}`,
  deliveryTimeoutMs: 15_000,
  transactionalId: `bench-latency-${fresh.name}`,
  rotation: ROTATION,
})
const publisher: Publisher = {
  ...inner,
  encode: (event) => inner.encode({ ...event, topic: TOPICS.vehicleCreated }),
  async publish(events) {
    const started = performance.now()
    for (const e of events) sendAt.set(e.event.headers[OUTBOX_ID_HEADER] ?? '', started)
    const deliveries = await inner.publish(events)
    const ended = performance.now()
    for (const e of events) doneAt.set(e.event.headers[OUTBOX_ID_HEADER] ?? '', ended)
    return deliveries
  },
}
const relay = createRelay({
  db,
  publisher,
  logger: createLogger({ service: 'bench-latency', level: 'warn' }),
  batchSize: 500,
  concurrency: 4,
  pollIntervalMs: 1_000,
  backoffMinMs: 250,
  backoffMaxMs: 15_000,
})
const writer = postgres(fresh.url, { max: 4, onnotice: () => {} })
const INSERT = `with o as (
    insert into outbox (event_id, aggregate_type, aggregate_id, event_type, topic, key, payload, headers)
    values ($1::uuid, 'vehicle', $2::uuid, $3, $4, $2, $5::text::jsonb, '{}'::jsonb) returning id
  ) select (select id from o)::text as id, pg_notify('${OUTBOX_CHANNEL}', '')::text as n`

async function insertOne(i: number): Promise<void> {
  const eventId = crypto.randomUUID()
  const id = Bun.randomUUIDv7()
  const at = new Date().toISOString()
  const vehicle = { id, vin: `LTNC${String(i).padStart(13, '0')}`, manufacturer: 'Volkswagen', model: 'Golf' }
  const payload = {
    eventId,
    occurredAt: at,
    vehicle: { ...vehicle, year: 2020, odometer: i, odometerUnit: 'km', createdAt: at },
  }
  const [row] = await writer.unsafe<{ id: string }[]>(INSERT, [
    eventId,
    id,
    TOPICS.vehicleCreated,
    topic,
    JSON.stringify(payload),
  ])
  if (row !== undefined) committedAt.set(row.id, performance.now())
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN
const summary = (name: string, values: number[]) => {
  const s = [...values].sort((a, b) => a - b)
  return `| ${name} | ${pct(s, 50).toFixed(1)} | ${pct(s, 95).toFixed(1)} | ${pct(s, 99).toFixed(1)} | ${(s.at(-1) ?? NaN).toFixed(1)} |`
}

try {
  relay.start()
  await Bun.sleep(2_000)
  const load = () => require('node:fs').readFileSync('/proc/loadavg', 'utf8').trim()
  const loadBefore = load()
  await openLoop(ROWS, RATE, insertOne)
  const deadline = performance.now() + 60_000
  while (doneAt.size < committedAt.size && performance.now() < deadline) await Bun.sleep(20)
  const ids = [...committedAt.keys()].filter((id) => doneAt.has(id))
  const wait = ids.map((id) => (sendAt.get(id) ?? NaN) - (committedAt.get(id) ?? NaN))
  const txn = ids.map((id) => (doneAt.get(id) ?? NaN) - (sendAt.get(id) ?? NaN))
  const total = ids.map((id) => (doneAt.get(id) ?? NaN) - (committedAt.get(id) ?? NaN))
  console.log(
    `${ROWS} rows at ${RATE}/s; ${ids.length} committed on the topic; load before ${loadBefore}, after ${load()}`,
  )
  console.log('| ms | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |')
  console.log(summary('insert committed → its transaction begins', wait))
  console.log(summary('transaction (begin → commit acknowledged)', txn))
  console.log(summary('insert committed → on the topic, committed', total))
} finally {
  await relay.stop()
  await writer.end()
  await db.close()
  await fresh.drop()
  await admin.deleteTopics([topic]).catch(() => {})
  await admin.disconnect()
}

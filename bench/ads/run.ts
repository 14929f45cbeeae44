/**
 * vehicles-ads benchmark (not a test). Against the local stack:
 *
 * 1. ingest: N processed events through the projection (Kafka → decode → guarded upsert → commit), from
 *    a fresh group until its lag is 0, vs the same number of guarded upserts through the raw driver's
 *    unordered bulkWrite, in the same run and on the same server;
 * 2. read: `GET /ads?limit=50` (and two context queries) over ADS ads, served by the real service
 *    (`packages/ads/src/main.ts` as a subprocess), loaded with wrk; req/s and p99 from wrk's own report.
 * 3. hop (`--hop-only`, or with the others via `--hop`): the projection's share of the pipeline's latency.
 *    Events produced one by one at a steady rate (open loop); for each, the time from its send to its
 *    ad's write being acknowledged (the repository's `onApplied`, in process: no polling of the
 *    database, which on FerretDB scans the collection for an `$in` and slows what it measures).
 *
 * Usage: bun bench/ads/run.ts [--ads 100000] [--ingest 5000] [--duration 30] [--connections 4]
 *   [--hop-count 3000] [--hop-rate 50]
 * Everything it creates is its own (topic, group, databases `ads_bench_*`) and removed at the end.
 */

import { cpus, loadavg } from 'node:os'
import type { AdDocument, ProcessedVehicle } from '../../packages/ads/src/ads/model'
import { adDocument, COLLECTION } from '../../packages/ads/src/ads/repository'
import { connectMongo } from '../../packages/ads/src/db'
import { connectProcessedContract } from '../../packages/ads/src/projection/contract'
import { startProjection } from '../../packages/ads/src/projection/start'
import { recorder } from '../../packages/ads/src/testing/recorder'
import {
  dlqTopic,
  RegistryClient,
  registerAll,
  subjectOf,
  TOPICS,
  toJsonSchemaText,
  VehicleProcessedEvent,
} from '../../packages/contracts/src/index'
import {
  createProducer,
  KafkaError,
  type Producer,
  type ProducerRecord,
} from '../../packages/kafka/src/index'
import { stackEnv, waitFor } from '../../packages/testing/src/index'
import { connectAdmin, createTestTopics, uniqueName, waitForZeroLag } from '../../packages/testing/src/kafka'
import { percentile } from '../lib/percentile'
import { bulkInsert, bulkUpsert, prepare, syntheticEvents } from './seed'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const ADS = arg('ads', 100_000)
const INGEST = arg('ingest', 5_000)
const DURATION = arg('duration', 30)
const CONNECTIONS = arg('connections', 4)
const PORT = arg('port', 3993)
/** The one-statement guarded upsert scans the collection on FerretDB/SQLite: O(n²) in total, so fewer. */
const GUARDED = arg('guarded', 1_000)
const LATE = arg('late', 1_000)
const HOP_COUNT = arg('hop-count', 3_000)
const HOP_RATE = arg('hop-rate', 50)

const env = stackEnv()
const run = crypto.randomUUID().slice(0, 8)
const say = (line: string) => console.log(`[bench] ${line}`)
const results: string[] = []
const keep = (line: string) => {
  results.push(line)
  say(line)
}

async function ingest() {
  const admin = await connectAdmin()
  const topic = uniqueName('bench')
  const groupId = uniqueName('bench-group')
  const dropTopics = await createTestTopics(admin, [topic, dlqTopic(topic)])
  const reference = await connectMongo({ url: env.MONGODB_URL, database: `ads_bench_ref_${run}` })
  const target = await connectMongo({ url: env.MONGODB_URL, database: `ads_bench_ingest_${run}` })
  try {
    await registerAll(new RegistryClient({ url: env.SCHEMA_REGISTRY_URL }), [
      { subject: subjectOf(topic), schema: toJsonSchemaText(VehicleProcessedEvent) },
    ])
    const contracts = await connectProcessedContract(env.SCHEMA_REGISTRY_URL, topic)
    const producer = createProducer({ brokers: env.KAFKA_BROKERS.split(','), clientId: uniqueName('bench') })
    await producer.connect()
    const events = syntheticEvents(INGEST, 7)
    for (let i = 0; i < events.length; i += 500) {
      await sendRetrying(
        producer,
        events.slice(i, i + 500).map((event) => ({
          topic,
          key: event.vehicle.id,
          value: contracts.encode(TOPICS.vehicleProcessed, event),
          headers: {
            'event-id': event.eventId,
            'event-type': TOPICS.vehicleProcessed,
            'content-type': 'application/json',
          },
        })),
      )
    }
    say(`${INGEST} events on ${topic}`)

    await prepare(reference.db)
    const guardedN = Math.min(INGEST, GUARDED)
    const bulkRate = await bulkUpsert(reference.db, syntheticEvents(guardedN, 7), 500)
    keep(
      `raw driver bulkWrite of the one-statement guarded upsert (unordered, 500/batch, w:majority), ${guardedN} events into an empty collection: ${bulkRate.toFixed(0)} events/s`,
    )
    await reference.db.dropDatabase()
    await prepare(reference.db)
    const insertRate = await bulkInsert(reference.db, syntheticEvents(INGEST, 7), 500)
    keep(
      `raw driver insertMany of the same ${INGEST} ads (unordered, 500/batch, w:majority): ${insertRate.toFixed(0)} events/s`,
    )

    const repository = await prepare(target.db)
    const rec = recorder()
    const started = performance.now()
    const projection = await startProjection({
      brokers: env.KAFKA_BROKERS.split(','),
      clientId: uniqueName('bench-ads'),
      groupId,
      topic,
      contracts,
      repository,
      producer,
      log: rec.log,
      metrics: rec.metrics,
    })
    await waitForZeroLag(admin, groupId, topic, 30 * 60_000)
    const seconds = (performance.now() - started) / 1000
    await projection.stop()
    const count = await target.db.collection(COLLECTION).countDocuments({})
    keep(
      `projection (Kafka → decode → versioned write → commit, ${INGEST} events into an empty collection, from group join to lag 0): ${(INGEST / seconds).toFixed(0)} events/s (${count} ads, ${rec.counts.applied} applied)`,
    )
    await producer.disconnect()
  } finally {
    await reference.db.dropDatabase().catch(() => undefined)
    await target.db.dropDatabase().catch(() => undefined)
    await reference.close()
    await target.close()
    await dropTopics().catch(() => undefined)
    await admin.disconnect()
  }
}

async function hop() {
  const admin = await connectAdmin()
  const topic = uniqueName('bench-hop')
  const dropTopics = await createTestTopics(admin, [topic, dlqTopic(topic)])
  const target = await connectMongo({ url: env.MONGODB_URL, database: `ads_bench_hop_${run}` })
  try {
    await registerAll(new RegistryClient({ url: env.SCHEMA_REGISTRY_URL }), [
      { subject: subjectOf(topic), schema: toJsonSchemaText(VehicleProcessedEvent) },
    ])
    const contracts = await connectProcessedContract(env.SCHEMA_REGISTRY_URL, topic)
    const producer = createProducer({
      brokers: env.KAFKA_BROKERS.split(','),
      clientId: uniqueName('bench-hop'),
    })
    await producer.connect()
    const writtenAt = new Map<string, number>()
    const repository = await prepare(target.db, {
      onApplied: (doc) => writtenAt.set(doc._id, performance.now()),
    })
    const rec = recorder()
    const projection = await startProjection({
      brokers: env.KAFKA_BROKERS.split(','),
      clientId: uniqueName('bench-hop-ads'),
      groupId: uniqueName('bench-hop-group'),
      topic,
      contracts,
      repository,
      producer,
      log: rec.log,
      metrics: rec.metrics,
    })
    const record = (event: ProcessedVehicle): ProducerRecord => ({
      topic,
      key: event.vehicle.id,
      value: contracts.encode(TOPICS.vehicleProcessed, event),
      headers: {
        'event-id': event.eventId,
        'event-type': TOPICS.vehicleProcessed,
        'content-type': 'application/json',
      },
    })
    // Warm-up: the group joined and every partition fetched once before anything is timed.
    const warm = syntheticEvents(60, 17)
    await sendRetrying(producer, warm.map(record))
    await waitFor(
      'the warm-up ads',
      () => (warm.every((e) => writtenAt.has(e.vehicle.id)) ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    )
    const events = syntheticEvents(HOP_COUNT, 19)
    const sentAt = new Map<string, number>()
    const ackedAt = new Map<string, number>()
    const started = performance.now()
    const sends: Promise<void>[] = []
    for (const [i, event] of events.entries()) {
      const due = started + (i * 1_000) / HOP_RATE
      const wait = due - performance.now()
      if (wait > 0) await Bun.sleep(wait)
      sentAt.set(event.vehicle.id, performance.now())
      sends.push(
        sendRetrying(producer, [record(event)]).then(() => {
          ackedAt.set(event.vehicle.id, performance.now())
        }),
      )
    }
    await Promise.all(sends)
    await waitFor(
      `all ${HOP_COUNT} hop ads`,
      () => {
        const missing = events.filter((e) => !writtenAt.has(e.vehicle.id)).length
        if (missing === 0) return true
        throw new Error(`${missing} not written yet`)
      },
      { timeoutMs: 300_000, intervalMs: 50 },
    )
    await projection.stop()
    await producer.disconnect()
    const since = (from: Map<string, number>) =>
      events
        .map((e) => (writtenAt.get(e.vehicle.id) ?? Number.NaN) - (from.get(e.vehicle.id) ?? Number.NaN))
        .sort((a, b) => a - b)
    const describe = (sorted: number[]) =>
      `p50 ${percentile(sorted, 50).toFixed(1)} ms, p90 ${percentile(sorted, 90).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`
    keep(
      `hop: ${HOP_COUNT} events at ${HOP_RATE}/s, send → ad write acknowledged: ${describe(since(sentAt))}; from the broker's ack: ${describe(since(ackedAt))}`,
    )
  } finally {
    await target.db.dropDatabase().catch(() => undefined)
    await target.close()
    await dropTopics().catch(() => undefined)
    await admin.disconnect()
  }
}

interface WrkResult {
  rps: number
  p50: string
  p99: string
  requests: number
  errors: string
}

/** The shared stack's brokers are killed by other suites' fault tests: retry what Kafka calls retriable. */
async function sendRetrying(producer: Producer, records: ProducerRecord[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.send(records)
      return
    } catch (error) {
      if (!(error instanceof KafkaError && error.retriable) || attempt >= 30) throw error
      say(`send failed (${error.message.slice(0, 120)}); retrying`)
      await Bun.sleep(1_000)
    }
  }
}

/** wrk's durations: `186.62us`, `855.18ms`, `2.80s`, `1.02m`. */
function millis(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (match === null) return 0
  const unit = { us: 0.001, ms: 1, s: 1_000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm']
  return Number(match[1]) * unit
}

async function wrk(path: string): Promise<WrkResult> {
  const child = Bun.spawn(
    [
      'wrk',
      '-t2',
      `-c${CONNECTIONS}`,
      `-d${DURATION}s`,
      '--timeout',
      '60s',
      '--latency',
      `http://127.0.0.1:${PORT}${path}`,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  )
  const out = await new Response(child.stdout).text()
  await child.exited
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN)
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const errors = [/Non-2xx or 3xx responses: \d+/.exec(out)?.[0], /Socket errors: .*/.exec(out)?.[0]]
    .filter(Boolean)
    .join('; ')
  return { rps, p50, p99, requests, errors: errors || 'none' }
}

/** The ads service as a subprocess on the bench database and topic; resolves once ready. */
async function startService(
  listSource: 'memory' | 'database',
  database: string,
  topic: string,
  groupId: string,
) {
  const service = Bun.spawn(['bun', 'packages/ads/src/main.ts'], {
    cwd: `${import.meta.dir}/../..`,
    env: {
      ...process.env,
      PORT: String(PORT),
      LOG_LEVEL: 'warn',
      MONGODB_URL: env.MONGODB_URL,
      MONGODB_DATABASE: database,
      MONGODB_TIMEOUT_MS: '10000',
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
      INPUT_TOPIC: topic,
      GROUP_ID: groupId,
      LIST_SOURCE: listSource,
      // One instance: its own writes keep the index exact; no periodic reload during the measurement.
      LIST_RESYNC_MS: '0',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  const started = performance.now()
  await waitFor(
    `vehicles-ads ready (LIST_SOURCE=${listSource})`,
    async () => {
      if (service.exitCode !== null) throw new Error(`vehicles-ads exited with ${service.exitCode}`)
      return (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok ? true : undefined
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  )
  say(
    `vehicles-ads (LIST_SOURCE=${listSource}) ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  return {
    async stop() {
      service.kill('SIGTERM')
      await service.exited
    },
  }
}

async function load(label: string, path: string) {
  const r = await wrk(path)
  keep(
    `${label} over ${ADS} ads, wrk -t2 -c${CONNECTIONS} -d${DURATION}s: ${r.rps.toFixed(2)} req/s, p50 ${r.p50}, p99 ${r.p99} (${r.requests} requests, errors: ${r.errors})`,
  )
  // wrk abandons the requests still open at its deadline, but the service still answers them: let
  // them finish before the next measurement starts.
  await Bun.sleep(Math.min(60_000, 2 * millis(r.p99)))
}

async function read() {
  const database = `ads_bench_read_${run}`
  const seed = await connectMongo({ url: env.MONGODB_URL, database })
  const topic = uniqueName('bench-read')
  const groupId = uniqueName('bench-read-group')
  const admin = await connectAdmin()
  const dropTopics = await createTestTopics(admin, [topic, dlqTopic(topic)])
  let service: { stop(): Promise<void> } | undefined
  try {
    await prepare(seed.db)
    const ads = seed.db.collection<AdDocument>(COLLECTION)
    const started = performance.now()
    const events = syntheticEvents(ADS, 11)
    // Seeding only (not measured as ingest): plain inserts of the documents the write would store.
    for (let i = 0; i < events.length; i += 1_000) {
      await ads.insertMany(events.slice(i, i + 1_000).map(adDocument), { ordered: false })
    }
    say(`seeded ${ADS} ads in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const sample = events[Math.floor(ADS / 2)]
    await registerAll(new RegistryClient({ url: env.SCHEMA_REGISTRY_URL }), [
      { subject: subjectOf(topic), schema: toJsonSchemaText(VehicleProcessedEvent) },
    ])

    // The default: GET /ads from the in-memory index.
    service = await startService('memory', database, topic, groupId)
    const metricsText = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text()
    const rss = Number(
      /^process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(metricsText)?.[1] ?? Number.NaN,
    )
    keep(`LIST_SOURCE=memory: service RSS with ${ADS} ads indexed: ${(rss / 2 ** 20).toFixed(0)} MiB`)
    await load('LIST_SOURCE=memory: GET /ads?limit=50 (newest first, no filter)', '/ads?limit=50')
    await load(
      'LIST_SOURCE=memory: GET /ads?limit=50&sort=price&manufacturer=Renault&model=Clio',
      '/ads?limit=50&sort=price&manufacturer=Renault&model=Clio',
    )
    await load('LIST_SOURCE=memory: GET /ads/:id (from the index)', `/ads/${sample?.vehicle.id}`)

    // Ingest into the full collection, through the running service: the write path's cost must not
    // grow with the number of ads.
    const contracts = await connectProcessedContract(env.SCHEMA_REGISTRY_URL, topic)
    const producer = createProducer({
      brokers: env.KAFKA_BROKERS.split(','),
      clientId: uniqueName('bench-late'),
    })
    await producer.connect()
    const late = syntheticEvents(LATE, 13)
    const sent = performance.now()
    for (let i = 0; i < late.length; i += 500) {
      await sendRetrying(
        producer,
        late.slice(i, i + 500).map((event) => ({
          topic,
          key: event.vehicle.id,
          value: contracts.encode(TOPICS.vehicleProcessed, event),
          headers: {
            'event-id': event.eventId,
            'event-type': TOPICS.vehicleProcessed,
            'content-type': 'application/json',
          },
        })),
      )
    }
    await waitForZeroLag(admin, groupId, topic, 30 * 60_000)
    const seconds = (performance.now() - sent) / 1000
    await producer.disconnect()
    keep(
      `the service ingesting ${LATE} new events into the ${ADS}-ad collection (produce → lag 0): ${(LATE / seconds).toFixed(0)} events/s`,
    )
    await service.stop()
    service = undefined

    // For comparison: a database query per page (what MongoDB would serve from the indexes).
    service = await startService('database', database, topic, groupId)
    await load('LIST_SOURCE=database: GET /ads/:id (findOne by _id)', `/ads/${sample?.vehicle.id}`)
    await load('LIST_SOURCE=database: GET /ads?limit=50 (newest first, no filter)', '/ads?limit=50')
  } finally {
    await service?.stop()
    await dropTopics().catch(() => undefined)
    await admin.disconnect()
    await seed.db.dropDatabase().catch(() => undefined)
    await seed.close()
  }
}

const which = process.argv.includes('--read-only')
  ? ['read']
  : process.argv.includes('--ingest-only')
    ? ['ingest']
    : process.argv.includes('--hop-only')
      ? ['hop']
      : ['ingest', 'read', ...(process.argv.includes('--hop') ? ['hop'] : [])]
// The machine is shared (2 cores): the load around the run is part of the result.
const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')
keep(`load average at start: ${loadAverage()} (${cpus().length} cores)`)
if (which.includes('ingest')) await ingest()
if (which.includes('read')) await read()
if (which.includes('hop')) await hop()
keep(`load average at end: ${loadAverage()}`)
console.log('\n=== results')
for (const line of results) console.log(line)

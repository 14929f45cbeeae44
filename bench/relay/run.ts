/**
 * Outbox → Kafka relay benchmark: events per second the stock relay moves from a full
 * outbox to Kafka, against kcat (librdkafka) producing the same records with the same guarantees.
 *
 * 1. A fresh database (vehicles-stock's migrations) gets N outbox rows (valid `stock.vehicle-created`
 *    events) while no relay runs.
 * 2. vehicles-stock's own relay (`packages/stock/src/outbox/relay.ts`, its publisher, the Kafka module's
 *    transactional producer: one transaction per send, the stock's default batch size) starts; the clock runs from its start
 *    (connect included) until no row is pending. Its publisher encodes with the registered
 *    `stock.vehicle-created` schema id but sends to a fresh topic, so the system's topic and the consumers
 *    of other runs never see these events.
 * 3. kcat produces the same N records (same keys, same encoded values, headers of the same sizes) with
 *    acks=all, enable.idempotence=true and the murmur2 partitioner, to a second fresh topic; the clock
 *    runs from its start to its exit (it exits once every delivery is acknowledged).
 * Both topics: 6 partitions, RF 3, min.insync.replicas=2, like the system's; both counted afterwards
 * (sum of end offsets = N), then deleted with the database.
 *
 * bun bench/relay/run.ts [--events 50000] [--runs 200x1[,1000x1,200x4c8]]
 *   one relay run per `<RELAY_BATCH_SIZE>x<instances>[c<RELAY_CONCURRENCY>]` (default: the stock's
 *   RELAY_CONCURRENCY), each on a fresh outbox; instances > 1 are that many relays (each with its own
 *   pool and producer) on one outbox, as several stock processes would run: one leads, the others stand by.
 *   OUTBOX_RETENTION_MS=0 in the environment: the relays delete sent rows (the stock's option) instead of
 *   marking them. `s<rows>` sets the relay's bound of one transaction (`maxSendRows`, default 2 000;
 *   a send holds at most RELAY_BATCH_SIZE × RELAY_CONCURRENCY rows anyway). A trailing `f` (e.g.
 *   `500x1f`) runs the same relay with Kafka replaced by a publisher that acknowledges at once
 *   (free-kafka.ts): the ceiling its database work leaves, whatever the client.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  connectContracts,
  EVENT_CONTRACTS,
  TOPICS,
  type VehicleCreatedEvent,
} from '../../packages/contracts/src/index'
import { type Admin, createAdmin } from '../../packages/kafka/src/index'
import { createLogger } from '../../packages/platform/src/index'
import { StockConfigSchema } from '../../packages/stock/src/config'
import { type Database, openPostgres, type Sql } from '../../packages/stock/src/db/database'
import { createKafkaPublisher, type Publisher } from '../../packages/stock/src/outbox/publisher'
import { createRelay } from '../../packages/stock/src/outbox/relay'
import { postgres, stackEnv } from '../../packages/testing/src/index'
import { intArg, stringArg } from '../lib/args'
import { type FreshDatabase, freshDatabase, runTag } from '../lib/database'
import { type KcatRun as KcatProduced, kcatCommittedCount, kcatProduce } from '../lib/kcat'
import { createReport, fixed, pct, table } from '../lib/report'
import { freeKafkaPublisher } from './free-kafka'

const EVENTS = intArg('events', 50_000, 100, 1_000_000)
/**
 * Rows relayed once, untimed, before the measured runs: the first run in a fresh process otherwise pays
 * for compiling the encode/producer/driver paths (measured: the first of two identical runs took 2 to
 * 3.5 times as long as the second), which a stock process that has been running does not.
 */
const WARMUP_EVENTS = intArg('warmup-events', 10_000, 0, 1_000_000)
/**
 * `<RELAY_BATCH_SIZE>x<relay instances>[c<RELAY_CONCURRENCY>][s<rows per transaction>][f]` per run, e.g.
 * `200x1,500x1c4,1000x1c16s10000,500x1f`; `s`: the relay's bound of one transaction (default 2 000).
 */
const RUNS = (stringArg('runs') ?? '200x1').split(',').map((spec) => {
  const match = /^(\d+)x(\d+)(?:c(\d+))?(?:s(\d+))?(f)?$/.exec(spec)
  const batch = Number(match?.[1])
  const instances = Number(match?.[2])
  const concurrency = Number(match?.[3] ?? StockConfigSchema.properties.RELAY_CONCURRENCY.default)
  const maxSendRows = match?.[4] === undefined ? undefined : Number(match[4])
  if (
    match === null ||
    batch < 1 ||
    batch > 1_000 ||
    instances < 1 ||
    instances > 8 ||
    concurrency < 1 ||
    concurrency > 16 ||
    (maxSendRows !== undefined && (maxSendRows < batch || maxSendRows > 100_000))
  ) {
    console.error(
      `--runs: ${spec} is not <batch 1..1000>x<instances 1..8>[c<1..16>][s<batch..100000>][f] (e.g. 200x1,200x4,1000x1c16s10000,500x1f)`,
    )
    process.exit(2)
  }
  return { batch, instances, concurrency, maxSendRows, freeKafka: match[5] === 'f' }
})
type RunSpec = (typeof RUNS)[number]
/** OUTBOX_RETENTION_MS of the relays (default: the stock's); 0 = sent rows deleted when marked. */
const RETENTION_MS = Number(
  process.env.OUTBOX_RETENTION_MS ?? StockConfigSchema.properties.OUTBOX_RETENTION_MS.default,
)
const say = (line: string) => console.log(`[relay] ${line}`)

const env = stackEnv()
const contracts = await connectContracts({
  registryUrl: env.SCHEMA_REGISTRY_URL,
  contracts: EVENT_CONTRACTS.filter((c) => c.topic === TOPICS.vehicleCreated),
})
const brokers = env.KAFKA_BROKERS.split(',')
const tag = runTag()
const relayTopic = `bench.relay.${tag}`
const kcatTopic = `bench.kcat.${tag}`
const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'
const vinOf = (n: number) => {
  let out = ''
  for (let i = 0; i < 13; i++) {
    out = VIN_ALPHABET[n % 33] + out
    n = Math.floor(n / 33)
  }
  return `BNCH${out}`
}

/** The outbox rows vehicles-stock would have written for N POSTs (see outbox/enqueue.ts). */
function outboxRows(n: number, topic: string) {
  const rows = []
  for (let i = 0; i < n; i++) {
    const createdAt = new Date().toISOString()
    const vehicle = {
      id: Bun.randomUUIDv7(),
      vin: vinOf(i),
      manufacturer: 'Volkswagen',
      model: 'Golf',
      year: 2000 + (i % 25),
      odometer: i % 300_000,
      odometerUnit: 'km' as const,
      createdAt,
    }
    const event: VehicleCreatedEvent = { eventId: crypto.randomUUID(), occurredAt: createdAt, vehicle }
    rows.push({
      event_id: event.eventId,
      aggregate_type: 'vehicle',
      aggregate_id: vehicle.id,
      event_type: TOPICS.vehicleCreated,
      topic,
      key: vehicle.id,
      payload: event,
      headers: {
        'event-id': event.eventId,
        'event-type': TOPICS.vehicleCreated,
        'content-type': 'application/json',
      },
    })
  }
  return rows
}

type OutboxRow = ReturnType<typeof outboxRows>[number]

async function fill(url: string, n: number, topic: string): Promise<OutboxRow[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const rows = outboxRows(n, topic)
    for (let i = 0; i < rows.length; i += 2_000) {
      await sql.unsafe(
        `insert into outbox (event_id, aggregate_type, aggregate_id, event_type, topic, key, payload, headers)
         select x.event_id, x.aggregate_type, x.aggregate_id, x.event_type, x.topic, x.key, x.payload, x.headers
         from jsonb_to_recordset($1::text::jsonb) as x(event_id uuid, aggregate_type text, aggregate_id uuid,
           event_type text, topic text, key text, payload jsonb, headers jsonb)`,
        [JSON.stringify(rows.slice(i, i + 2_000))],
      )
    }
    await sql`analyze outbox`
    return rows
  } finally {
    await sql.end()
  }
}

async function pendingRows(sql: postgres.Sql): Promise<{ pending: number; failed: number }> {
  const [row] = await sql<{ pending: number; failed: number }[]>`
    select count(*) filter (where sent_at is null and failed_at is null)::int as pending,
           count(*) filter (where failed_at is not null)::int as failed
    from outbox`
  return row ?? { pending: -1, failed: -1 }
}

/** Where the relay's time goes, summed over all batches: a profile by stage, measured around the calls. */
interface Stages {
  selectMs: number
  markMs: number
  encodeMs: number
  publishMs: number
  otherMs: number
  firstSendAt?: number
  sends: number
  batches: number
}

/**
 * The stock's database seam with every statement of the relay's leader connection timed, by what the
 * statement does (the relay's read records the batch in flight; its mark also records the offsets).
 */
function timedDatabase(db: Database, stages: Stages): Database {
  const timedQuery =
    (inner: Sql['query']): Sql['query'] =>
    async (text, params) => {
      const started = performance.now()
      try {
        return await inner(text, params)
      } finally {
        const ms = performance.now() - started
        if (/^\s*select outbox.id::text as id, topic/i.test(text)) {
          stages.selectMs += ms
          stages.batches += 1
        } else if (
          /^\s*with leader as[\s\S]*\bm as \(\s*(update outbox set sent_at|delete from outbox)/i.test(text)
        )
          stages.markMs += ms
        else stages.otherMs += ms
      }
    }
  return {
    ...db,
    query: timedQuery(db.query),
    async openSession() {
      const session = await db.openSession()
      return { query: timedQuery(session.query), release: session.release }
    },
  }
}

interface RelayRun {
  batchSize: number
  stages: Stages
  seconds: number
  secondsFromFirstSend: number
  cpuSeconds: number
}

/** One relay as one stock process runs it: its own pool (the stock's default size) and producer. */
function oneRelay(url: string, spec: RunSpec, stages: Stages, index: number) {
  const db = timedDatabase(
    openPostgres({ url, max: 10, connectTimeoutSeconds: 5, applicationName: 'bench-relay' }),
    stages,
  )
  const inner = spec.freeKafka
    ? freeKafkaPublisher(
        (event) => contracts.encode(TOPICS.vehicleCreated, event.payload as VehicleCreatedEvent),
        6,
      )
    : createKafkaPublisher({
        brokers,
        registryUrl: env.SCHEMA_REGISTRY_URL,
        clientId: `bench-relay-${tag}-${index}`,
        deliveryTimeoutMs: 15_000,
        // One transactional id per outbox (its database), shared by that outbox's relays, as in the stock.
        transactionalId: `bench-relay-${new URL(url).pathname.slice(1)}`,
      })
  // The stock publisher, aimed at the bench topic: the row's topic is where it goes, the contract is the
  // created event's (its registered schema id is in every value).
  const publisher: Publisher = {
    ...inner,
    encode: (event) => {
      const started = performance.now()
      try {
        return inner.encode({ ...event, topic: TOPICS.vehicleCreated })
      } finally {
        stages.encodeMs += performance.now() - started
      }
    },
    async publish(events) {
      const started = performance.now()
      stages.firstSendAt ??= started
      try {
        return await inner.publish(events)
      } finally {
        stages.publishMs += performance.now() - started
        stages.sends += 1
      }
    },
  }
  const relay = createRelay({
    db,
    publisher,
    logger: createLogger({ service: 'bench-relay', level: 'warn' }),
    batchSize: spec.batch,
    concurrency: spec.concurrency,
    maxSendRows: spec.maxSendRows,
    pollIntervalMs: 1_000,
    // The stock keeps sent rows unless OUTBOX_RETENTION_MS=0 (then its relay deletes them as it marks them).
    keepSentRows: RETENTION_MS > 0,
    backoffMinMs: 250,
    backoffMaxMs: 15_000,
  })
  return { relay, db }
}

async function runRelay(url: string, spec: RunSpec, events = EVENTS): Promise<RelayRun> {
  const stages: Stages = {
    selectMs: 0,
    markMs: 0,
    encodeMs: 0,
    publishMs: 0,
    otherMs: 0,
    sends: 0,
    batches: 0,
  }
  const relays = Array.from({ length: spec.instances }, (_, i) => oneRelay(url, spec, stages, i))
  const watch = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    for (const r of relays) r.relay.start()
    const deadline = started + 15 * 60_000
    // Done when the relays marked every row sent (their own count, read in this process: a database poll
    // every few ms would take CPU from the run it measures); the outbox is checked once at the end.
    const marked = () => relays.reduce((n, r) => n + r.relay.status().sent, 0)
    while (marked() < events) {
      if (performance.now() > deadline)
        throw new Error(
          `relay still has ${events - marked()} rows to send after 15 min: ${JSON.stringify(relays.map((r) => r.relay.status()))}`,
        )
      await Bun.sleep(5)
    }
    const seconds = (performance.now() - started) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const { pending, failed } = await pendingRows(watch)
    if (pending !== 0 || failed !== 0)
      throw new Error(`after the relay: ${pending} rows pending, ${failed} failed (want 0 and 0)`)
    const firstSendAfter = ((stages.firstSendAt ?? started) - started) / 1000
    await Promise.all(relays.map((r) => r.relay.stop()))
    return {
      batchSize: spec.batch,
      stages,
      seconds,
      secondsFromFirstSend: seconds - Math.max(0, firstSendAfter),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    }
  } finally {
    await watch.end()
    await Promise.all(relays.map((r) => r.db.close()))
  }
}

/** Two single bytes that occur in no key or value, as kcat's key and message delimiters. */
function delimiters(records: { key: Buffer; value: Buffer }[]): [number, number] {
  const used = new Set<number>()
  for (const r of records) {
    for (const b of r.key) used.add(b)
    for (const b of r.value.subarray(0, 5)) used.add(b)
  }
  // The JSON after the 5-byte wire header holds no raw control characters; only the header can clash.
  const free = [0x1e, 0x1f, 0x1c, 0x1d, 0x01, 0x02, 0x03, 0x04].filter((b) => !used.has(b))
  const [message, key] = free
  if (message === undefined || key === undefined) throw new Error('no free delimiter bytes for kcat')
  return [message, key]
}

interface KcatRun extends KcatProduced {
  valueBytes: number
}

/** The same records as the first relay run's outbox (rows in id order), produced by kcat. */
async function runKcat(rows: readonly OutboxRow[]): Promise<KcatRun> {
  const records = rows.map((row) => ({
    key: Buffer.from(row.key),
    value: contracts.encode(TOPICS.vehicleCreated, row.payload),
  }))
  const [md, kd] = delimiters(records)
  const parts: Buffer[] = []
  for (const r of records) parts.push(r.key, Buffer.from([kd]), r.value, Buffer.from([md]))
  const dir = join(env.STACK_DIR ?? join(import.meta.dir, '..', '..', '.stack'), 'bench')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `kcat-${tag}.bin`)
  writeFileSync(file, Buffer.concat(parts))
  const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`
  try {
    const run = await kcatProduce(env.KAFKA_BROKERS, kcatTopic, file, [
      '-K',
      hex(kd),
      '-D',
      hex(md),
      // Headers of the same sizes as the relay's (kcat sets one value for every record).
      '-H',
      `event-id=${crypto.randomUUID()}`,
      '-H',
      `event-type=${TOPICS.vehicleCreated}`,
      '-H',
      'content-type=application/json',
      '-X',
      'message.timeout.ms=60000',
    ])
    const valueBytes = records.reduce((sum, r) => sum + r.value.length, 0) / records.length
    return { ...run, valueBytes }
  } finally {
    rmSync(file, { force: true })
  }
}

/**
 * Created topics are usable once every partition has a leader; the module's create returns when the
 * controller accepted them, and a describe right after may not know them yet.
 */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = performance.now() + 30_000
  let seen = 'nothing'
  while (performance.now() < deadline) {
    const described = await admin.describeTopics(topics).catch((e: unknown) => {
      seen = String(e)
      return []
    })
    const led = described.filter((t) => t.partitions.length === 6 && t.partitions.every((p) => p.leader >= 0))
    if (led.length === topics.length) return
    if (described.length > 0) seen = `${led.length} of ${topics.length} topics led`
    await Bun.sleep(200)
  }
  throw new Error(`topics ${topics.join(', ')} not led after 30 s (last: ${seen})`)
}

const command = `${process.env.OUTBOX_RETENTION_MS !== undefined ? `OUTBOX_RETENTION_MS=${process.env.OUTBOX_RETENTION_MS} ` : ''}bun run bench:relay${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
// Deleting sent rows is another configuration: its own report file beside the default's.
const report = createReport(RETENTION_MS > 0 ? 'relay' : 'relay-delete-sent', command)
const admin = createAdmin({ brokers, clientId: `bench-relay-admin-${tag}` })
await admin.connect()
const warmupTopic = `${relayTopic}.warmup`
const relayTopics = RUNS.map(
  ({ batch, instances, concurrency, maxSendRows, freeKafka }, i) =>
    `${relayTopic}.${i}-${batch}x${instances}c${concurrency}${maxSendRows === undefined ? '' : `s${maxSendRows}`}${freeKafka ? 'f' : ''}`,
)
const databases: FreshDatabase[] = []
const problems: string[] = []
try {
  const benchTopics = [...relayTopics, kcatTopic, warmupTopic]
  await admin.createTopics(
    benchTopics.map((topic) => ({
      topic,
      partitions: 6,
      replicationFactor: 3,
      configs: { 'min.insync.replicas': '2' },
    })),
  )
  await waitForLeaders(admin, benchTopics)
  // kcat's topic holds no transaction markers and starts at offset 0: its end offsets are its count.
  const count = async (topic: string) =>
    (await admin.endOffsets(topic)).reduce((sum, p) => sum + Number(p.highWatermark), 0)
  // The relay writes transactions: each commit marker takes an offset, so its records are counted by
  // reading them (kcat reads read_committed by default), one byte per record.
  const countRecords = (topic: string) => kcatCommittedCount(env.KAFKA_BROKERS, topic)

  const relays: { label: string; run: RelayRun; onTopic: number | undefined }[] = []
  let firstRows: OutboxRow[] | undefined
  if (WARMUP_EVENTS > 0) {
    const db = await freshDatabase(`bench_relay_${tag}_warmup`)
    databases.push(db)
    say(`warm-up: relaying ${WARMUP_EVENTS} rows (not measured)`)
    await fill(db.url, WARMUP_EVENTS, warmupTopic)
    const first = RUNS.find((r) => !r.freeKafka) ?? RUNS[0]
    if (first !== undefined) await runRelay(db.url, { ...first, instances: 1 }, WARMUP_EVENTS)
    report.mark('after the warm-up')
  }
  for (const [i, spec] of RUNS.entries()) {
    const { batch, instances, concurrency, freeKafka } = spec
    const label = `RELAY_BATCH_SIZE ${batch}, RELAY_CONCURRENCY ${concurrency}${spec.maxSendRows === undefined ? '' : `, up to ${spec.maxSendRows} rows per transaction`}, ${instances} relay${instances > 1 ? 's' : ''}${freeKafka ? ', Kafka free (acknowledged at once)' : ''}`
    const topic = relayTopics[i] ?? relayTopic
    const db = await freshDatabase(`bench_relay_${tag}_${i}`)
    databases.push(db)
    say(`filling a fresh outbox with ${EVENTS} rows for ${topic}`)
    const rows = await fill(db.url, EVENTS, topic)
    firstRows ??= rows
    report.mark(`outbox filled (${label})`)
    const run = await runRelay(db.url, spec)
    report.mark(`after relay (${label})`)
    say(`relay, ${label}: ${fixed(EVENTS / run.seconds)} events/s (${fixed(run.seconds, 2)} s)`)
    relays.push({ label, run, onTopic: freeKafka ? undefined : await countRecords(topic) })
  }
  if (firstRows === undefined) throw new Error('no relay run')
  const kcat = await runKcat(firstRows)
  report.mark('after kcat')
  say(`kcat: ${fixed(EVENTS / kcat.seconds)} events/s (${fixed(kcat.seconds, 2)} s)`)
  const onKcatTopic = await count(kcatTopic)

  report.section(
    `${EVENTS} events (values ${fixed(kcat.valueBytes)} bytes on average), fresh 6-partition RF 3 topics, acks=all, idempotent`,
    table(
      ['producer', 'seconds', 'events/s', 'CPU s', 'records on the topic'],
      [
        ...relays.flatMap(({ label, run, onTopic }) => [
          [
            `stock relay, ${label} (start to empty outbox)`,
            fixed(run.seconds, 2),
            fixed(EVENTS / run.seconds),
            fixed(run.cpuSeconds, 2),
            onTopic ?? 'none: Kafka free',
          ],
          [
            `stock relay, ${label}, from its first send`,
            fixed(run.secondsFromFirstSend, 2),
            fixed(EVENTS / run.secondsFromFirstSend),
            '',
            '',
          ],
        ]),
        [
          'kcat (librdkafka, start to exit)',
          fixed(kcat.seconds, 2),
          fixed(EVENTS / kcat.seconds),
          fixed(kcat.cpuSeconds, 2),
          onKcatTopic,
        ],
      ],
    ),
  )
  for (const { label, run } of relays) {
    const st = run.stages
    const wallMs = run.seconds * 1000
    const row = (stage: string, ms: number, per: number, unit: string) => [
      stage,
      fixed(ms),
      pct(ms / wallMs),
      `${fixed(ms / Math.max(1, per), 1)} per ${unit}`,
    ]
    report.section(
      `Where the relay's time goes, ${label} (${st.batches} reads of up to ${run.batchSize} rows, ${st.sends} sends of ${fixed(EVENTS / Math.max(1, st.sends))} records on average; timed around each call, summed over relays; the stages overlap, so shares of the wall time add up to more than 100 %)`,
      table(
        ['stage', 'total ms', 'of wall time', 'ms'],
        [
          row('read pending rows (one statement)', st.selectMs, st.batches, 'read'),
          row('encode (schema validation + wire format)', st.encodeMs, st.batches, 'read'),
          row('publish: one transaction, until its commit is acknowledged', st.publishMs, st.sends, 'send'),
          row('mark sent + committed offsets (one statement)', st.markMs, st.sends, 'send'),
          row('other statements (leader lock, read-back offsets, first offsets)', st.otherMs, 1, 'run'),
        ],
      ),
    )
  }
  report.section(
    'Figure',
    table(
      ['figure', 'value', 'goal', ''],
      relays.map(({ label, run, onTopic }) => {
        const ratio = kcat.seconds / run.seconds
        // A Kafka-free run is a ceiling, not the relay: it has no goal of its own.
        if (onTopic === undefined)
          return [`ceiling (${label}) events/s / kcat events/s`, pct(ratio), '', 'ceiling']
        return [
          `relay (${label}) events/s / kcat events/s`,
          pct(ratio),
          '≥ 80 %',
          ratio >= 0.8 ? 'met' : 'missed',
        ]
      }),
    ),
  )
  report.note(
    `Sent rows: ${RETENTION_MS > 0 ? 'kept, marked sent_at (the default, OUTBOX_RETENTION_MS > 0)' : 'deleted as they are marked (OUTBOX_RETENTION_MS=0)'}.`,
  )
  report.note(
    `The stock's defaults: RELAY_BATCH_SIZE ${StockConfigSchema.properties.RELAY_BATCH_SIZE.default}, RELAY_CONCURRENCY ${StockConfigSchema.properties.RELAY_CONCURRENCY.default} (batches read ahead while a send waits; they leave as one send). Several relays on one outbox: one leads (advisory lock), the others stand by.`,
  )
  report.note(
    `Before the measured runs, ${WARMUP_EVENTS} rows are relayed once, untimed (--warmup-events), as a stock process that has been running would be warm.`,
  )
  report.note(
    'The relay runs in the benchmark process (its CPU column is the whole process); the run ends when the relays counted every row marked sent, then the outbox is checked (0 pending, 0 failed).',
  )
  report.note(
    "kcat sends one set of header values for all records (same sizes as the relay's per-record headers).",
  )
  for (const { label, onTopic } of relays)
    if (onTopic !== undefined && onTopic !== EVENTS)
      problems.push(`relay (${label}) topic holds ${onTopic} records, want ${EVENTS}`)
  if (onKcatTopic !== EVENTS) problems.push(`kcat topic holds ${onKcatTopic} records, want ${EVENTS}`)
  for (const p of problems) report.note(`PROBLEM: ${p}`)
  report.print()
} finally {
  await admin
    .deleteTopics([...relayTopics, kcatTopic, warmupTopic])
    .catch((e) => say(`cannot delete topics: ${e}`))
  await admin.disconnect()
  for (const db of databases) await db.drop()
}
process.exit(problems.length > 0 ? 1 : 0)

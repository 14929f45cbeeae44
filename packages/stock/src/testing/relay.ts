/**
 * Support for the relay's fault tests on the real stack: relays run in the test process (so a test can
 * step in between two of their calls), on a fresh database and a topic of their own, and the topic is
 * read back by the outbox ids in its records' headers under read_committed, which is what "each row
 * exactly once on the topic" means. Here, not in packages/testing, because it drives this package's relay,
 * publisher and outbox table.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { TOPICS, type VehicleCreatedEvent } from '@vehicles/contracts'
import type { Admin } from '@vehicles/kafka'
import { createLogger } from '@vehicles/platform'
import { kcat, stackEnv, waitFor } from '@vehicles/testing'
import { createTestTopics, uniqueName } from '@vehicles/testing/kafka'
import type postgres from 'postgres'
import { type Database, openPostgres } from '../db/database'
import { createKafkaPublisher, OUTBOX_ID_HEADER, type Publisher } from '../outbox/publisher'
import { createRelay, type Relay } from '../outbox/relay'

/** A topic shaped like the system's (6 partitions, RF 3, min.insync.replicas 2), every partition led. */
export async function relayTopic(admin: Admin): Promise<string> {
  const topic = uniqueName('relay')
  await createTestTopics(admin, [topic])
  return topic
}

/** `n` valid outbox rows (what POST /stock writes) bound for `topic`; resolves to their ids. */
export async function fillOutbox(sql: postgres.Sql, topic: string, n: number): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => {
    const createdAt = new Date().toISOString()
    const vehicle = {
      id: Bun.randomUUIDv7(),
      vin: `TST${String(i).padStart(14, '0')}`,
      manufacturer: 'Peugeot',
      model: '208',
      year: 2022,
      odometer: i,
      odometerUnit: 'km' as const,
      createdAt,
    }
    const event: VehicleCreatedEvent = { eventId: crypto.randomUUID(), occurredAt: createdAt, vehicle }
    return {
      event_id: event.eventId,
      aggregate_type: 'vehicle',
      aggregate_id: vehicle.id,
      event_type: TOPICS.vehicleCreated,
      topic,
      key: vehicle.id,
      payload: event,
      headers: { 'event-id': event.eventId, 'event-type': TOPICS.vehicleCreated },
    }
  })
  const ids: string[] = []
  for (let i = 0; i < rows.length; i += 1_000) {
    const inserted = await sql.unsafe<{ id: string }[]>(
      `insert into outbox (event_id, aggregate_type, aggregate_id, event_type, topic, key, payload, headers)
       select x.event_id, x.aggregate_type, x.aggregate_id, x.event_type, x.topic, x.key, x.payload, x.headers
       from jsonb_to_recordset($1::text::jsonb) as x(event_id uuid, aggregate_type text, aggregate_id uuid,
         event_type text, topic text, key text, payload jsonb, headers jsonb)
       returning id::text as id`,
      [JSON.stringify(rows.slice(i, i + 1_000))],
    )
    ids.push(...inserted.map((r) => r.id))
  }
  return ids
}

export interface TestRelay {
  relay: Relay
  db: Database
  publisher: Publisher
}

/**
 * A relay as a stock process runs it (its own pool and leader session, named `name` in
 * pg_stat_activity; the stock publisher), sending the created-event contract to the test's topic.
 * `wrap` lets a test step into the publisher's calls.
 */
export function testRelay(input: {
  url: string
  name: string
  transactionalId: string
  /** Transactional ids in turn; default the relay's own (RELAY_ROTATION). */
  rotation?: number
  deliveryTimeoutMs?: number
  batchSize?: number
  concurrency?: number
  wrap?: (inner: Publisher) => Publisher
}): TestRelay {
  const env = stackEnv()
  const db = openPostgres({ url: input.url, max: 4, connectTimeoutSeconds: 5, applicationName: input.name })
  const inner = createKafkaPublisher({
    brokers: env.KAFKA_BROKERS.split(','),
    registryUrl: env.SCHEMA_REGISTRY_URL,
    clientId: input.name,
    deliveryTimeoutMs: input.deliveryTimeoutMs ?? 10_000,
    transactionalId: input.transactionalId,
    rotation: input.rotation,
  })
  const retargeted: Publisher = {
    ...inner,
    encode: (event) => inner.encode({ ...event, topic: TOPICS.vehicleCreated }),
  }
  const publisher = input.wrap?.(retargeted) ?? retargeted
  const relay = createRelay({
    db,
    publisher,
    logger: createLogger({ service: input.name, level: 'warn' }),
    batchSize: input.batchSize ?? 100,
    concurrency: input.concurrency ?? 2,
    pollIntervalMs: 100,
    backoffMinMs: 100,
    backoffMaxMs: 1_000,
  })
  return { relay, db, publisher }
}

/** How often each outbox id is on the topic (committed records, every partition). */
export async function idsOnTopic(admin: Admin, topic: string): Promise<Map<string, number>> {
  const [described] = await admin.describeTopics([topic])
  const counts = new Map<string, number>()
  for (const { partition } of described?.partitions ?? []) {
    for (const record of await admin.readCommitted(topic, partition, '0')) {
      const id = record.headers[OUTBOX_ID_HEADER]
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1)
    }
  }
  return counts
}

/**
 * Each row exactly once on the topic, and no row marked sent that is not there. Returns a description
 * of what is wrong (empty when nothing is), so a failing test prints the story.
 */
export async function exactlyOnceProblems(
  admin: Admin,
  sql: postgres.Sql,
  topic: string,
  ids: readonly string[],
) {
  // A commit is acknowledged once logged; its markers (and so its records, for read_committed) follow
  // a moment later. Read once nothing is undecided: every stable offset at its high watermark.
  await waitFor(
    `${topic} settled`,
    async () => {
      const ends = await admin.endOffsets(topic)
      if (ends.every((e) => e.lastStable === e.highWatermark)) return true
      throw new Error(JSON.stringify(ends))
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  )
  const onTopic = await idsOnTopic(admin, topic)
  // The same, read by an independent client (kcat, librdkafka, read_committed): the relay's own
  // read-back must agree with it.
  const independent = await kcatIds(topic)
  const sent = new Set(
    (await sql<{ id: string }[]>`select id::text from outbox where sent_at is not null`).map((r) => r.id),
  )
  const problems: string[] = []
  const twice = [...onTopic].filter(([, n]) => n > 1)
  const missing = ids.filter((id) => !onTopic.has(id))
  const markedNotThere = [...sent].filter((id) => !onTopic.has(id))
  if (twice.length > 0)
    problems.push(`${twice.length} rows more than once, e.g. ${JSON.stringify(twice.slice(0, 5))}`)
  if (missing.length > 0)
    problems.push(`${missing.length} rows not on the topic, e.g. ${missing.slice(0, 5).join(', ')}`)
  if (markedNotThere.length > 0)
    problems.push(`${markedNotThere.length} rows marked sent but not on the topic`)
  if (sent.size !== ids.length) problems.push(`${sent.size} of ${ids.length} rows marked sent`)
  const disagree = [...new Set([...onTopic.keys(), ...independent.keys()])].filter(
    (id) => onTopic.get(id) !== independent.get(id),
  )
  if (disagree.length > 0)
    problems.push(
      `readCommitted and kcat disagree on ${disagree.length} rows, e.g. ${disagree.slice(0, 5).join(', ')}`,
    )
  return problems
}

/** How often each outbox id is on the topic, as kcat (read_committed by default) sees it. */
async function kcatIds(topic: string): Promise<Map<string, number>> {
  const result = await kcat(
    ['-C', '-b', stackEnv().KAFKA_BROKERS, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%h\\n'],
    undefined,
    60_000,
  )
  if (result.code !== 0) throw new Error(`kcat could not read ${topic}: ${result.stderr}`)
  const counts = new Map<string, number>()
  for (const m of result.stdout.matchAll(/outbox-id=(\d+)/g))
    counts.set(m[1] as string, (counts.get(m[1] as string) ?? 0) + 1)
  return counts
}

/** The pid of this stack's broker `id` (its java process, found by the stack's marker in its command line). */
export function brokerPid(id: number): number {
  const marker = `-Dvehicles.stack=${stackEnv().STACK_DIR}/kafka-${id}`
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (args[0]?.endsWith('java') && args.includes(marker)) return Number(entry)
    } catch {
      // The process ended while the list was read.
    }
  }
  throw new Error(`no java process with ${marker}: is this stack's kafka-${id} running?`)
}

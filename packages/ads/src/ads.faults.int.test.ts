/**
 * The MongoDB-wire server stopped for 20 s while processed events arrive: the projection pauses, retries
 * and resumes; afterwards every ad is there exactly once, holding its newest event, and the group has
 * committed everything. This stops the SHARED FerretDB: run it late, alone (`bun run test faults`).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import {
  type Contracts,
  dlqTopic,
  RegistryClient,
  registerAll,
  subjectOf,
  TOPICS,
  toJsonSchemaText,
  VehicleProcessedEvent,
} from '@vehicles/contracts'
import { type Admin, createProducer, type Producer } from '@vehicles/kafka'
import { stackCommand, stackEnv, waitFor } from '@vehicles/testing'
import {
  connectAdmin,
  createTestTopics,
  stackBrokers,
  uniqueName,
  waitForZeroLag,
} from '@vehicles/testing/kafka'
import { MongoClient } from 'mongodb'
import type { AdDocument, ProcessedVehicle } from './ads/model'
import { AdsRepository, COLLECTION } from './ads/repository'
import { versionKey } from './ads/version'
import { connectProcessedContract } from './projection/contract'
import { type Projection, startProjection } from './projection/start'
import { at, processedEvent } from './testing/events'
import { recorder } from './testing/recorder'

const OUTAGE_MS = 20_000
const topic = uniqueName('faults')
const groupId = uniqueName('group')
const database = `ads_faults_${crypto.randomUUID().slice(0, 8)}`
const rec = recorder()
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}
let contracts: Contracts
let producer: Producer
let client: MongoClient
let projection: Projection | undefined
let ferretStopped = false

async function stack(...args: string[]) {
  const result = await stackCommand(args)
  if (result.code !== 0) throw new Error(`stack ${args.join(' ')}: ${result.output}`)
  return result.stdout
}

beforeAll(async () => {
  const env = stackEnv()
  const brokers = stackBrokers()
  admin = await connectAdmin()
  dropTopics = await createTestTopics(admin, [topic, dlqTopic(topic)])
  await registerAll(new RegistryClient({ url: env.SCHEMA_REGISTRY_URL }), [
    { subject: subjectOf(topic), schema: toJsonSchemaText(VehicleProcessedEvent) },
  ])
  contracts = await connectProcessedContract(env.SCHEMA_REGISTRY_URL, topic)
  producer = createProducer({ brokers, clientId: uniqueName('producer') })
  await producer.connect()
  // Short server selection: a write fails within a second while the server is away, so the retry loop
  // (not a driver wait) is what is exercised.
  client = new MongoClient(env.MONGODB_URL, { serverSelectionTimeoutMS: 1_000, retryWrites: false })
  await client.connect()
  const repository = new AdsRepository(client.db(database))
  await repository.ensureIndexes()
  projection = await startProjection({
    brokers,
    clientId: uniqueName('ads'),
    groupId,
    topic,
    contracts,
    repository,
    producer,
    log: rec.log,
    metrics: rec.metrics,
    backoff: { initialMs: 100, maxMs: 1_000 },
  })
}, 120_000)

afterAll(async () => {
  // Never leave the shared server stopped, whatever failed.
  if (ferretStopped) await stack('start', 'ferretdb').catch((e) => console.error(String(e)))
  await projection?.stop()
  await producer?.disconnect()
  await dropTopics().catch(() => undefined)
  await admin?.disconnect()
  await client
    ?.db(database)
    .dropDatabase()
    .catch(() => undefined)
  await client?.close()
})

async function send(events: ProcessedVehicle[]) {
  await producer.send(
    events.map((event) => ({
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

test('server stopped for 20 s while events arrive: afterwards every ad is there once, newest version', async () => {
  const warmUp = Array.from({ length: 20 }, (_, i) => processedEvent({ occurredAt: at(i), amount: i }))
  await send(warmUp)
  await waitForZeroLag(admin, groupId, topic)

  // Newest event per vehicle, to check against at the end.
  const newest = new Map<string, ProcessedVehicle>(warmUp.map((e) => [e.vehicle.id, e]))
  await stack('stop', 'ferretdb')
  ferretStopped = true
  const stoppedAt = Date.now()

  // During the outage: new vehicles, newer versions of warm-up vehicles, and older ones after them.
  for (let wave = 0; wave < 8; wave++) {
    const fresh = Array.from({ length: 15 }, (_, i) =>
      processedEvent({ occurredAt: at(1_000 + wave * 100 + i) }),
    )
    const updates = warmUp
      .slice(wave * 2, wave * 2 + 2)
      .map((old) =>
        processedEvent({ vehicleId: old.vehicle.id, occurredAt: at(5_000 + wave), amount: 99_000 + wave }),
      )
    const stale = warmUp
      .slice(wave * 2, wave * 2 + 2)
      .map((old) => processedEvent({ vehicleId: old.vehicle.id, occurredAt: at(-100), amount: 1 }))
    await send([...fresh, ...updates, ...stale])
    for (const e of [...fresh, ...updates]) newest.set(e.vehicle.id, e)
    await Bun.sleep(1_000)
  }
  await waitFor('the projection to pause', () => (rec.counts.paused.includes(true) ? true : undefined), {
    timeoutMs: 10_000,
  })
  expect(projection?.blocked).toBeGreaterThan(0)

  await Bun.sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)))
  await stack('start', 'ferretdb')
  ferretStopped = false
  const restartedAt = Date.now()

  await waitForZeroLag(admin, groupId, topic, 120_000).catch((error: unknown) => {
    throw new Error(
      `${String(error)}; projection said ${JSON.stringify(rec.logs.filter((l) => l.level !== 'info').slice(-5))}`,
    )
  })
  const caughtUpMs = Date.now() - restartedAt
  console.log(
    `outage ${OUTAGE_MS} ms; caught up ${caughtUpMs} ms after restart; ${rec.counts.retries} retries`,
  )

  const ids = [...newest.keys()]
  const docs = await client
    .db(database)
    .collection<AdDocument>(COLLECTION)
    .find({ _id: { $in: ids } })
    .toArray()
  const byId = new Map<string, AdDocument[]>()
  for (const doc of docs) byId.set(doc._id, [...(byId.get(doc._id) ?? []), doc])
  const missing = ids.filter((id) => !byId.has(id))
  const duplicated = [...byId].filter(([, list]) => list.length > 1).map(([id]) => id)
  const wrongVersion = ids.filter((id) => {
    const want = newest.get(id)
    return want !== undefined && byId.get(id)?.[0]?.version !== versionKey(want.occurredAt, want.eventId)
  })
  expect({ missing, duplicated, wrongVersion }).toEqual({ missing: [], duplicated: [], wrongVersion: [] })
  expect(docs.length).toBe(newest.size)
  expect(rec.counts.dlq).toEqual([])
  expect(rec.counts.paused.at(-1)).toBe(false)
  expect(projection?.blocked).toBe(0)
}, 240_000)

/**
 * The projection against the real stack: Kafka (a topic of this run's own, so other helpers' traffic
 * does not interfere), the registry (the processed-event schema registered under that topic's subject)
 * and FerretDB (a database of this run's own).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  type Contracts,
  dlqTopic,
  encodeWire,
  RegistryClient,
  registerAll,
  subjectOf,
  TOPICS,
  toJsonSchemaText,
  VehicleProcessedEvent,
} from '@vehicles/contracts'
import {
  type Admin,
  type ConsumedMessage,
  type Consumer,
  createConsumer,
  createProducer,
  type Producer,
} from '@vehicles/kafka'
import { openTestDb, stackEnv, type TestDb, waitFor } from '@vehicles/testing'
import {
  connectAdmin,
  createTestTopics,
  stackBrokers,
  uniqueName,
  waitForZeroLag,
} from '@vehicles/testing/kafka'
import type { ProcessedVehicle } from '../ads/model'
import { AdsRepository } from '../ads/repository'
import { at, processedEvent } from '../testing/events'
import { recorder } from '../testing/recorder'
import { connectProcessedContract } from './contract'
import { type Projection, startProjection } from './start'

const topic = uniqueName('processed')
const groupId = uniqueName('group')
const rec = recorder()
const dlqSeen: ConsumedMessage[] = []
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}
let contracts: Contracts
let producer: Producer
let dlqConsumer: Consumer | undefined
let testDb: TestDb
let repo: AdsRepository
let projection: Projection | undefined

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
  testDb = await openTestDb('projection')
  repo = new AdsRepository(testDb.db)
  await repo.ensureIndexes()
  projection = await startProjection({
    brokers,
    clientId: uniqueName('ads'),
    groupId,
    topic,
    contracts,
    repository: repo,
    producer,
    log: rec.log,
    metrics: rec.metrics,
    retryBackoffMs: 200,
  })
  dlqConsumer = createConsumer({
    brokers,
    clientId: uniqueName('dlq-reader'),
    groupId: uniqueName('dlq-reader'),
    topics: [dlqTopic(topic)],
    readCommitted: true,
    fromBeginning: true,
  })
  await dlqConsumer.run(async (m) => {
    dlqSeen.push(m)
  })
}, 120_000)

afterAll(async () => {
  await projection?.stop()
  await dlqConsumer?.close()
  await producer?.disconnect()
  await dropTopics().catch(() => undefined)
  await admin?.disconnect()
  await testDb?.dispose()
})

function headers(event: ProcessedVehicle) {
  return {
    'event-id': event.eventId,
    'event-type': TOPICS.vehicleProcessed,
    'content-type': 'application/json',
  }
}

async function send(...events: ProcessedVehicle[]) {
  await producer.send(
    events.map((event) => ({
      topic,
      key: event.vehicle.id,
      value: contracts.encode(TOPICS.vehicleProcessed, event),
      headers: headers(event),
    })),
  )
}

const adOf = (id: string) =>
  waitFor(`ad ${id}`, async () => (await repo.findById(id)) ?? undefined, {
    timeoutMs: 30_000,
    intervalMs: 100,
  })

/** On failure, what the projection said is the first thing to read. */
const said = () => JSON.stringify(rec.logs.filter((l) => l.level !== 'info').slice(-10))

describe('projection', () => {
  test('a processed event becomes exactly one ad', async () => {
    const event = processedEvent({ amount: 15_500 })
    await send(event)
    const ad = await adOf(event.vehicle.id)
    expect(ad.price).toEqual({ amount: 15_500, currency: 'EUR' })
    expect(await testDb.db.collection('ads').countDocuments({ _id: event.vehicle.id as never })).toBe(1)
  }, 120_000)

  test('the same event three times and an older one after it: still one ad, the newer one', async () => {
    const vehicleId = crypto.randomUUID()
    const newer = processedEvent({ vehicleId, occurredAt: at(200), amount: 30_000 })
    const older = processedEvent({ vehicleId, occurredAt: at(100), amount: 10_000 })
    await send(newer)
    await send(newer, newer)
    await send(older)
    await waitForZeroLag(admin, groupId, topic)
    const docs = await testDb.db
      .collection('ads')
      .find({ _id: vehicleId as never })
      .toArray()
    expect(docs.length).toBe(1)
    expect(docs[0]?.eventId).toBe(newer.eventId)
    expect(docs[0]?.price).toEqual({ amount: 30_000, currency: 'EUR' })
    expect(rec.counts.stale).toBeGreaterThanOrEqual(3)
  }, 120_000)

  test('poison lands in the DLQ with its reason, and the next good message of the partition is applied', async () => {
    const vehicleId = crypto.randomUUID()
    const boundId = contracts.bound[0]?.schemaId ?? -1
    // Same key → same partition: the good message sits right behind the two bad ones.
    await producer.send([
      {
        topic,
        key: vehicleId,
        value: Buffer.from('{"not":"wire format"}'),
        headers: { 'event-id': 'bad-1' },
      },
      {
        topic,
        key: vehicleId,
        value: encodeWire(boundId, Buffer.from(JSON.stringify({ eventId: 'x', price: -1 }))),
        headers: { 'event-id': 'bad-2' },
      },
    ])
    const good = processedEvent({ vehicleId, amount: 7_777 })
    await send(good)
    const ad = await adOf(vehicleId).catch((error: unknown) => {
      throw new Error(`${String(error)}; projection said ${said()}`)
    })
    expect(ad.price.amount).toBe(7_777)
    const letters = await waitFor(
      'two dead letters',
      () => {
        const mine = dlqSeen.filter((m) => m.key === vehicleId)
        if (mine.length >= 2) return mine
        throw new Error(`${mine.length} so far; projection said ${said()}`)
      },
      { timeoutMs: 30_000 },
    )
    const reasons = letters.map((m) => m.headers['dlq-reason'] ?? '')
    expect(reasons[0]).toStartWith('wire-format: ')
    expect(reasons[1]).toStartWith('contract-violation: ')
    expect(reasons[1]).toContain('price')
    for (const letter of letters) {
      expect(letter.headers['dlq-source-topic']).toBe(topic)
      expect(letter.headers['dlq-source-offset']).toMatch(/^\d+$/)
    }
    expect(letters[0]?.value.toString()).toBe('{"not":"wire format"}')
    expect(letters[0]?.headers['event-id']).toBe('bad-1')
    await waitForZeroLag(admin, groupId, topic)
  }, 120_000)

  test('many vehicles across partitions: every ad once, group lag 0', async () => {
    const events = Array.from({ length: 60 }, (_, i) => processedEvent({ amount: 1_000 + i }))
    await send(...events)
    await waitForZeroLag(admin, groupId, topic)
    const ids = events.map((e) => e.vehicle.id)
    const found = await testDb.db
      .collection('ads')
      .find({ _id: { $in: ids as never[] } })
      .toArray()
    expect(found.length).toBe(60)
  }, 120_000)
})

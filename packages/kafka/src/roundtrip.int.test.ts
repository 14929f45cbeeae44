import { expect, test } from 'bun:test'
import { collector, testConsumer, topicFixture, uniqueName } from '@vehicles/testing/kafka'
import { KafkaTopicNotFoundError } from './errors'
import { partitionForKey } from './murmur2'

const kafka = topicFixture('roundtrip')
const { topic } = kafka

test('cluster and topic look like the system needs them: 3 brokers, 6 partitions, RF 3, min ISR 2', async () => {
  const cluster = await kafka.admin.describeCluster()
  expect(cluster.brokers.length).toBe(3)
  const [described] = await kafka.admin.describeTopics([topic])
  expect(described?.partitions.length).toBe(6)
  for (const p of described?.partitions ?? []) {
    expect(p.replicas.length).toBe(3)
    expect(p.isr.length).toBe(3)
  }
  expect(described?.configs['min.insync.replicas']).toBe('2')
})

test('produce → consume keeps key, value, headers; murmur2 partition; per-key order; reported offsets', async () => {
  const keys = Array.from({ length: 12 }, (_, i) => `vehicle-${i}-${crypto.randomUUID()}`)
  // Three events per key, sent in separate batches, to see per-key order across sends.
  const reports = []
  for (let round = 0; round < 3; round++) {
    reports.push(
      ...(await kafka.producer.send(
        keys.map((key) => ({
          topic,
          key,
          value: Buffer.from(JSON.stringify({ key, round })),
          headers: {
            'event-id': `${key}:${round}`,
            'event-type': 'test',
            'content-type': 'application/json',
          },
        })),
      )),
    )
  }
  expect(reports.length).toBe(36)
  for (const r of reports) expect(r.partition).toBe(partitionForKey(r.key, 6))

  const seen = collector()
  const consumer = testConsumer([topic])
  try {
    await consumer.run(seen.handler)
    const messages = await seen.until(36, 45_000)
    expect(messages.length).toBe(36)
    for (const m of messages) {
      const body = JSON.parse(m.value.toString()) as { key: string; round: number }
      expect(m.key).toBe(body.key)
      expect(m.partition).toBe(partitionForKey(body.key, 6))
      expect(m.headers).toEqual({
        'event-id': `${body.key}:${body.round}`,
        'event-type': 'test',
        'content-type': 'application/json',
      })
      const report = reports.find(
        (r) => r.key === body.key && r.partition === m.partition && r.offset === m.offset,
      )
      expect(report).toBeDefined()
    }
    for (const key of keys) {
      const rounds = messages.filter((m) => m.key === key).map((m) => JSON.parse(m.value.toString()).round)
      expect(rounds).toEqual([0, 1, 2])
    }
  } finally {
    await consumer.close()
  }
}, 90_000)

test('concurrent sends are coalesced but each caller gets the reports of its own records', async () => {
  const keys = Array.from({ length: 200 }, () => crypto.randomUUID())
  const reports = await Promise.all(
    keys.map((key) => kafka.producer.send([{ topic, key, value: Buffer.from(`concurrent ${key}`) }])),
  )
  const slots = new Set<string>()
  reports.forEach(([report], i) => {
    expect(report?.key).toBe(keys[i] as string)
    expect(report?.partition).toBe(partitionForKey(keys[i] as string, 6))
    slots.add(`${report?.partition}@${report?.offset}`)
  })
  // No two callers were told the same partition/offset.
  expect(slots.size).toBe(keys.length)
}, 60_000)

test('sending to a topic that does not exist is a KafkaTopicNotFoundError, not a hang', async () => {
  const missing = uniqueName('missing')
  const started = Date.now()
  const error = await kafka.producer
    .send([{ topic: missing, key: 'k', value: Buffer.from('v') }])
    .catch((e) => e)
  expect(error).toBeInstanceOf(KafkaTopicNotFoundError)
  expect((error as KafkaTopicNotFoundError).topic).toBe(missing)
  expect(Date.now() - started).toBeLessThan(15_000)
})

test('ping answers for producer and admin', async () => {
  await kafka.producer.ping()
  await kafka.admin.ping()
})

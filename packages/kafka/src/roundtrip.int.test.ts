import { expect, test } from 'bun:test'
import { produceAcksAll } from '@vehicles/testing'
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

test('consumed bytes survive the batched fetch whatever their shape: values larger than a batch arena, empty values, no key, UTF-8 keys and headers, in offset order', async () => {
  const key = `véhicule-${crypto.randomUUID()}-🚗`
  // A batch copies into a 1 MiB arena: 900 KB values never fit two to an arena, and sixty 100 KB ones
  // fill arenas in the middle of batches, so messages take the slow path (their own copy) often.
  const sized = (bytes: number, fill: number) => Buffer.alloc(bytes, fill)
  const sent = [
    sized(900_000, 1),
    Buffer.alloc(0),
    sized(900_000, 2),
    Buffer.from('small'),
    sized(900_000, 3),
  ]
  for (let i = 0; i < 60; i++) sent.push(sized(100_000 + i, i))
  const record = (value: Buffer, i: number) => ({
    topic,
    key,
    value,
    headers: { 'event-id': `${i}`, 'note-é': `ünï ${i}` },
  })
  for (const [i, value] of sent.slice(0, 5).entries()) await kafka.producer.send([record(value, i)])
  await kafka.producer.send(sent.slice(5).map((value, i) => record(value, i + 5)))
  const unkeyed = await produceAcksAll(kafka.brokers.join(','), topic, ['no key here'])
  expect(unkeyed.code).toBe(0)

  const seen = collector()
  const consumer = testConsumer([topic])
  try {
    await consumer.run(seen.handler)
    const deadline = Date.now() + 45_000
    while (
      Date.now() < deadline &&
      (seen.messages.filter((m) => m.key === key).length < sent.length ||
        !seen.messages.some((m) => m.key === null))
    )
      await Bun.sleep(50)
    const ours = seen.messages.filter((m) => m.key === key)
    expect(ours.map((m) => m.headers['event-id'])).toEqual(sent.map((_, i) => `${i}`))
    ours.forEach((m, i) => {
      expect(m.value.equals(sent[i] as Buffer)).toBe(true)
      expect(m.headers['note-é']).toBe(`ünï ${i}`)
    })
    expect(ours.map((m) => Number(m.offset))).toEqual(
      [...ours.map((m) => Number(m.offset))].sort((a, b) => a - b),
    )
    const withoutKey = seen.messages.find((m) => m.key === null)
    expect(withoutKey?.value.toString()).toBe('no key here')
    expect(withoutKey?.headers).toEqual({})
  } finally {
    await consumer.close()
  }
}, 90_000)

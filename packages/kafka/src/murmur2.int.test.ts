import { afterAll, beforeAll, expect, test } from 'bun:test'
import { kcat } from '@vehicles/testing'
import {
  collector,
  createTestTopics,
  stackBrokers,
  testConsumer,
  topicSpec,
  uniqueName,
} from '@vehicles/testing/kafka'
import { createAdmin } from './admin'
import { partitionForKey } from './murmur2'
import { createProducer } from './producer'
import type { Admin } from './types'

/**
 * Partition agreement with librdkafka (the estimator's client): kcat writes keys with
 * partitioner=murmur2_random, this module's producer writes the same keys, and every key must land on
 * the same partition both times — and where partitionForKey says.
 */
const brokers = stackBrokers()
const topic = uniqueName('murmur2')
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}

beforeAll(async () => {
  admin = createAdmin({ brokers, clientId: uniqueName('admin') })
  await admin.connect()
  dropTopics = await createTestTopics(admin, [topicSpec(topic)])
})

afterAll(async () => {
  await dropTopics()
  await admin?.disconnect()
})

test('kcat (librdkafka murmur2_random) and this producer put every key on the same partition', async () => {
  // UUIDs like the system's keys, plus short keys that exercise every murmur2 tail length.
  const keys = [...Array.from({ length: 40 }, () => crypto.randomUUID()), 'a', 'ab', 'abc', 'abcd', '1', '21']
  const input = keys.map((k) => `${k}|kcat`).join('\n')
  const written = await kcat(
    [
      '-P',
      '-b',
      brokers.join(','),
      '-t',
      topic,
      '-K',
      '|',
      '-X',
      'partitioner=murmur2_random',
      '-X',
      'acks=all',
    ],
    `${input}\n`,
  )
  expect(written.code, `kcat failed: ${written.stderr}`).toBe(0)

  const producer = createProducer({ brokers, clientId: uniqueName('producer') })
  try {
    await producer.send(keys.map((key) => ({ topic, key, value: Buffer.from('module') })))
  } finally {
    await producer.disconnect()
  }

  const seen = collector()
  const consumer = testConsumer([topic])
  try {
    await consumer.run(seen.handler)
    await seen.until(keys.length * 2)
  } finally {
    await consumer.close()
  }
  const disagreements: string[] = []
  for (const key of keys) {
    const byKcat = seen.messages.find((m) => m.key === key && m.value.toString() === 'kcat')?.partition
    const byModule = seen.messages.find((m) => m.key === key && m.value.toString() === 'module')?.partition
    const expected = partitionForKey(key, 6)
    if (byKcat !== expected || byModule !== expected) {
      disagreements.push(`${key}: kcat=${byKcat} module=${byModule} expected=${expected}`)
    }
  }
  expect(disagreements).toEqual([])
  // The sample is only meaningful if the keys spread over the partitions.
  expect(new Set(keys.map((k) => partitionForKey(k, 6))).size).toBe(6)
}, 90_000)

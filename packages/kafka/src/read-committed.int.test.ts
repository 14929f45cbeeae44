import { afterAll, beforeAll, expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import {
  collector,
  createTestTopics,
  stackBrokers,
  testConsumer,
  topicSpec,
  uniqueName,
} from '@vehicles/testing/kafka'
import { createAdmin } from './admin'
import { createTransactionSession } from './rdkafka/producer'
import type { Admin } from './types'

/**
 * The module's consumer reads committed records only. The transactions are written with the engine's
 * transaction steps directly (the public TransactionalProducer always commits or aborts at once), so a
 * transaction can be left open while the consumer runs.
 */
const brokers = stackBrokers()
const topic = uniqueName('read-committed')
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}
const writer = createTransactionSession({
  brokers,
  clientId: uniqueName('tx-writer'),
  transactionalId: uniqueName('tx'),
})

beforeAll(async () => {
  admin = createAdmin({ brokers, clientId: uniqueName('admin') })
  await admin.connect()
  dropTopics = await createTestTopics(admin, [topicSpec(topic, { partitions: 1 })])
  await writer.init()
})

afterAll(async () => {
  await writer.close()
  await dropTopics()
  await admin?.disconnect()
})

async function inTransaction(values: string[], end: 'commit' | 'abort' | 'open') {
  writer.begin()
  await writer.produce(values.map((v) => ({ topic, key: v, value: Buffer.from(v) })))
  if (end === 'commit') await writer.commit()
  if (end === 'abort') await writer.abort()
}

test('aborted records are never seen; records of an open transaction appear only after its commit', async () => {
  await inTransaction(['a1', 'a2'], 'commit')
  await inTransaction(['b1-aborted', 'b2-aborted'], 'abort')
  await inTransaction(['c1'], 'commit')

  const seen = collector()
  const consumer = testConsumer([topic])
  try {
    await consumer.run(seen.handler)
    await seen.until(3)
    await inTransaction(['d1-open'], 'open')
    // While the transaction is open its record sits above the last stable offset: invisible.
    await Bun.sleep(2_000)
    expect(seen.messages.map((m) => m.value.toString())).toEqual(['a1', 'a2', 'c1'])
    await writer.commit()
    await waitFor('d1 after commit', () => (seen.messages.length >= 4 ? true : undefined), {
      timeoutMs: 20_000,
    })
    expect(seen.messages.map((m) => m.value.toString())).toEqual(['a1', 'a2', 'c1', 'd1-open'])
  } finally {
    await consumer.close()
  }
}, 90_000)

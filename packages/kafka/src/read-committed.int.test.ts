import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Producer as LibraryProducer } from '@platformatic/kafka'
import { waitFor } from '@vehicles/testing'
import { createAdmin } from './admin'
import { createConsumer } from './consumer'
import { collector, createTestTopics, stackBrokers, topicSpec, uniqueName } from './int-support'
import type { Admin } from './types'

/**
 * The module's consumer reads committed records only. The module itself does not write transactions
 * (the estimator, in Python, does), so this test writes them with the client library underneath:
 * that is what sits behind the module, and it speaks the same transaction protocol.
 */
const brokers = stackBrokers()
const topic = uniqueName('read-committed')
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}
const writer = new LibraryProducer({
  clientId: uniqueName('tx-writer'),
  bootstrapBrokers: brokers,
  idempotent: true,
  transactionalId: uniqueName('tx'),
  autocreateTopics: false,
})

beforeAll(async () => {
  admin = createAdmin({ brokers, clientId: uniqueName('admin') })
  await admin.connect()
  dropTopics = await createTestTopics(admin, [topicSpec(topic, { partitions: 1 })])
})

afterAll(async () => {
  await writer.close()
  await dropTopics()
  await admin?.disconnect()
})

async function inTransaction(values: string[], end: 'commit' | 'abort' | 'open') {
  const tx = await writer.beginTransaction()
  await tx.send({ messages: values.map((v) => ({ topic, key: Buffer.from(v), value: Buffer.from(v) })) })
  if (end === 'commit') await tx.commit()
  if (end === 'abort') await tx.abort()
  return tx
}

test('aborted records are never seen; records of an open transaction appear only after its commit', async () => {
  await inTransaction(['a1', 'a2'], 'commit')
  await inTransaction(['b1-aborted', 'b2-aborted'], 'abort')
  await inTransaction(['c1'], 'commit')

  const seen = collector()
  const consumer = createConsumer({
    brokers,
    clientId: uniqueName('consumer'),
    groupId: uniqueName('group'),
    topics: [topic],
    readCommitted: true,
    fromBeginning: true,
  })
  try {
    await consumer.run(seen.handler)
    await seen.until(3)
    const open = await inTransaction(['d1-open'], 'open')
    // While the transaction is open its record sits above the last stable offset: invisible.
    await Bun.sleep(2_000)
    expect(seen.messages.map((m) => m.value.toString())).toEqual(['a1', 'a2', 'c1'])
    await open.commit()
    await waitFor('d1 after commit', () => (seen.messages.length >= 4 ? true : undefined), {
      timeoutMs: 20_000,
    })
    expect(seen.messages.map((m) => m.value.toString())).toEqual(['a1', 'a2', 'c1', 'd1-open'])
  } finally {
    await consumer.close()
  }
}, 90_000)

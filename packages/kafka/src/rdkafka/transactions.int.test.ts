import { expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import { numberedRecords, topicFixture, uniqueName } from '@vehicles/testing/kafka'
import { KafkaFencedError, KafkaUnavailableError } from '../errors'
import { createRdAdmin } from './admin'
import { createRdTransactionalProducer, createTransactionSession } from './producer'

/**
 * The librdkafka engine's transactional producer, against the stack: committed records are what a
 * read_committed reader sees, and a second producer with the same transactional id fences the first.
 */
const kafka = topicFixture('rd-txn')
const { brokers, topic } = kafka

test('a committed transaction is read back under read_committed, record by record', async () => {
  const producer = createRdTransactionalProducer({
    brokers,
    clientId: uniqueName('txn'),
    transactionalId: uniqueName('txn-id'),
  })
  const admin = createRdAdmin({ brokers })
  try {
    await producer.connect()
    const reports = await producer.sendTransaction(numberedRecords(topic, 0, 20))
    expect(reports).toHaveLength(20)
    expect(reports.map((r) => r.key)).toEqual(numberedRecords(topic, 0, 20).map((r) => r.key))
    const partitions = [...new Set(reports.map((r) => r.partition))]
    // The commit markers reach the partitions shortly after the commit returns.
    const seen = await waitFor('every record readable under read_committed', async () => {
      const read = (await Promise.all(partitions.map((p) => admin.readCommitted(topic, p, '0')))).flat()
      if (read.length < 20) throw new Error(`${read.length} of 20 readable`)
      return read
    })
    const byValue = new Map(seen.map((m) => [m.value.toString(), m]))
    for (const [i, report] of reports.entries()) {
      const message = byValue.get(String(i))
      expect(message?.partition).toBe(report.partition)
      expect(message?.offset).toBe(report.offset)
      expect(message?.key).toBe(report.key)
    }
  } finally {
    await producer.disconnect()
    await admin.disconnect()
  }
}, 60_000)

test('a newer producer with the same transactional id fences the older one: KafkaFencedError', async () => {
  const transactionalId = uniqueName('txn-fence')
  const older = createRdTransactionalProducer({ brokers, clientId: uniqueName('old'), transactionalId })
  const newer = createRdTransactionalProducer({ brokers, clientId: uniqueName('new'), transactionalId })
  try {
    await older.connect()
    await older.sendTransaction(numberedRecords(topic, 100, 101))
    await newer.connect()
    const error = await older.sendTransaction(numberedRecords(topic, 101, 102)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KafkaFencedError)
    expect((error as KafkaFencedError).retriable).toBe(false)
    // The newer one commits; the older stays fenced for good.
    expect(await newer.sendTransaction(numberedRecords(topic, 102, 103))).toHaveLength(1)
    await expect(older.sendTransaction(numberedRecords(topic, 103, 104))).rejects.toBeInstanceOf(
      KafkaFencedError,
    )
  } finally {
    await older.disconnect()
    await newer.disconnect()
  }
}, 60_000)

test("a handle stuck in a blocking call holds only its own calls: another handle's transactions and metadata proceed", async () => {
  // A session whose coordinator never answers (nothing listens on port 1): its init blocks in
  // librdkafka until its deadline.
  const stuck = createTransactionSession({
    brokers: ['127.0.0.1:1'],
    clientId: uniqueName('stuck'),
    transactionalId: uniqueName('txn-stuck'),
    deliveryTimeoutMs: 30_000,
  })
  const stuckInit = stuck.init().then(
    () => 'initialised',
    (error: unknown) => error,
  )
  const healthy = createRdTransactionalProducer({
    brokers,
    clientId: uniqueName('healthy'),
    transactionalId: uniqueName('txn-healthy'),
  })
  const admin = createRdAdmin({ brokers })
  try {
    await Bun.sleep(200) // the stuck init is inside librdkafka now
    const started = Date.now()
    await healthy.connect()
    expect(await healthy.sendTransaction(numberedRecords(topic, 200, 205))).toHaveLength(5)
    expect(await admin.listTopics()).toContain(topic)
    const tookMs = Date.now() - started
    // Far below the stuck call's 30 s: nothing waited behind it.
    expect(tookMs).toBeLessThan(10_000)
    // Closing the stuck session waits for one slice of its call, not for its deadline.
    const closing = Date.now()
    await stuck.close()
    expect(Date.now() - closing).toBeLessThan(5_000)
    const outcome = await stuckInit
    expect(outcome).toBeInstanceOf(KafkaUnavailableError)
  } finally {
    await stuck.close()
    await healthy.disconnect()
    await admin.disconnect()
  }
}, 60_000)

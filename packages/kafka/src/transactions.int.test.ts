import { expect, test } from 'bun:test'
import { numberedRecords, topicFixture, uniqueName } from '@vehicles/testing/kafka'
import { KafkaFencedError } from './errors'
import { createTransactionalProducer } from './producer'
import { createTransactionSession, rotationIds } from './rdkafka/producer'
import type { ConsumedMessage } from './types'

/**
 * The transactional producer and the read-back against the stack's brokers: what is committed is
 * read back, what is aborted never is, and a second producer with the same transactional id fences the
 * first. Aborted transactions with the same id as committed ones are written step by step through the
 * engine's transaction session (the module's producer aborts only on failure).
 */
const kafka = topicFixture('transactions', { partitions: 1 })
/** A fenced session's commit answers within this (the coordinator answers in milliseconds). */
const FENCED_COMMIT_BOUND_MS = 15_000
const values = (messages: ConsumedMessage[]) => messages.map((m) => m.value.toString())
/** This test's records only (the topic is shared by the file's tests). */
const tagged = (tag: string, messages: ConsumedMessage[]) =>
  values(messages).filter((v) => v.startsWith(`${tag}:`))

const producerFor = (transactionalId: string) =>
  createTransactionalProducer({
    brokers: kafka.brokers,
    clientId: uniqueName('tx'),
    transactionalId,
    deliveryTimeoutMs: 20_000,
  })

/**
 * A commit is acknowledged once the coordinator logged it; its markers reach the partitions a moment
 * later, and until then the records sit above the last stable offset. Initialising the id again waits
 * for every transaction of the id to be decided and marked (what the relay does before reading back).
 */
async function settle(transactionalId: string) {
  const next = producerFor(transactionalId)
  await next.connect()
  await next.disconnect()
}

/**
 * A transaction of `transactionalId` driven step by step through the engine's transaction session (the
 * module's producer aborts only on failure), left as `end` says.
 */
async function libraryTransaction(
  transactionalId: string,
  texts: string[],
  end: 'commit' | 'abort' | 'open',
) {
  const writer = createTransactionSession({
    brokers: kafka.brokers,
    clientId: uniqueName('lib-tx'),
    transactionalId,
    deliveryTimeoutMs: 20_000,
  })
  await writer.init()
  writer.begin()
  // One partition: every record lands on partition 0 whatever its key.
  await writer.produce(texts.map((t) => ({ topic: kafka.topic, key: t, value: Buffer.from(t) })))
  if (end === 'commit') await writer.commit()
  if (end === 'abort') await writer.abort()
  return { writer, tx: writer }
}

test('a committed transaction is read back whole, with headers and the reported offsets', async () => {
  const id = uniqueName('txid')
  const producer = producerFor(id)
  await producer.connect()
  const records = numberedRecords(kafka.topic, 0, 5).map((r, i) => ({
    ...r,
    value: Buffer.from(`one:${i}`),
    headers: { 'outbox-id': String(i) },
  }))
  const reports = await producer.sendTransaction(records)
  await producer.disconnect()
  await settle(id)
  const back = (await kafka.admin.readCommitted(kafka.topic, 0, '0')).filter((m) =>
    m.value.toString().startsWith('one:'),
  )
  expect(values(back)).toEqual(['one:0', 'one:1', 'one:2', 'one:3', 'one:4'])
  expect(back.map((m) => m.headers['outbox-id'])).toEqual(['0', '1', '2', '3', '4'])
  expect(back.map((m) => m.offset)).toEqual(reports.map((r) => r.offset))
}, 60_000)

test('a second producer with the same id fences the first; its open transaction is aborted, never read', async () => {
  const id = uniqueName('txid')
  const first = producerFor(id)
  await first.connect()
  await first.sendTransaction([{ topic: kafka.topic, key: 'k', value: Buffer.from('two:first-committed') }])
  // An open transaction of the same id, as a deposed writer whose commit never came would leave it.
  const open = await libraryTransaction(id, ['two:left-open'], 'open')
  const second = producerFor(id)
  await second.connect() // fences both older sessions and aborts the open transaction
  const error = await first
    .sendTransaction([{ topic: kafka.topic, key: 'k', value: Buffer.from('x') }])
    .catch((e) => e)
  expect(error).toBeInstanceOf(KafkaFencedError)
  // The deposed session has not heard of the fencing yet: its commit must reject as fenced, promptly.
  const started = Date.now()
  const late = await open.writer.commit().catch((e: unknown) => e)
  expect(late).toBeInstanceOf(KafkaFencedError)
  expect(Date.now() - started).toBeLessThan(FENCED_COMMIT_BOUND_MS)
  await second.sendTransaction([{ topic: kafka.topic, key: 'k', value: Buffer.from('two:second-committed') }])
  await settle(id)
  const back = await kafka.admin.readCommitted(kafka.topic, 0, '0')
  expect(tagged('two', back)).toEqual(['two:first-committed', 'two:second-committed'])
  await Promise.all([first.disconnect(), second.disconnect(), open.writer.close()])
}, 90_000)

test('a rotation of ids: transactions go round the ids in send order; a newer writer fences every id, even one with a transaction left open', async () => {
  const id = uniqueName('txrot')
  const ids = rotationIds(id, 3)
  const rotating = () =>
    createTransactionalProducer({
      brokers: kafka.brokers,
      clientId: uniqueName('rot'),
      transactionalId: id,
      rotation: 3,
      deliveryTimeoutMs: 20_000,
    })
  const first = rotating()
  await first.connect()
  const sent: string[] = []
  for (let i = 0; i < 7; i++) {
    const text = `rot:first-${i}`
    await first.sendTransaction([{ topic: kafka.topic, key: 'k', value: Buffer.from(text) }])
    sent.push(text)
  }
  await first.disconnect()
  // A deposed writer holding every id of the rotation, one of them with a transaction open.
  const deposed = await Promise.all(
    ids.map(async (each, k) => {
      const session = createTransactionSession({
        brokers: kafka.brokers,
        clientId: uniqueName(`rot-deposed-${k}`),
        transactionalId: each,
        deliveryTimeoutMs: 20_000,
      })
      await session.init()
      return session
    }),
  )
  const openOne = deposed[1] as (typeof deposed)[number]
  openOne.begin()
  await openOne.produce([{ topic: kafka.topic, key: 'k', value: Buffer.from('rot:left-open') }])
  const second = rotating()
  await second.connect() // initialises the three ids: fences each deposed session, aborts the open one
  for (const [k, session] of deposed.entries()) {
    if (session !== openOne) {
      session.begin()
      await session
        .produce([{ topic: kafka.topic, key: 'k', value: Buffer.from(`rot:fenced-${k}`) }])
        .catch(() => [])
    }
    expect(await session.commit().catch((e: unknown) => e)).toBeInstanceOf(KafkaFencedError)
  }
  for (let i = 0; i < 4; i++) {
    const text = `rot:second-${i}`
    await second.sendTransaction([{ topic: kafka.topic, key: 'k', value: Buffer.from(text) }])
    sent.push(text)
  }
  await second.disconnect()
  for (const each of ids) await settle(each)
  const back = await kafka.admin.readCommitted(kafka.topic, 0, '0')
  // Every committed transaction once, in send order; nothing fenced or left open.
  expect(tagged('rot', back)).toEqual(sent)
  await Promise.all(deposed.map((session) => session.close()))
}, 120_000)

test('readCommitted skips aborted records and markers, across several aborts of one id, from any offset', async () => {
  const id = uniqueName('txid')
  const steps: [string[], 'commit' | 'abort'][] = [
    [['three:c1', 'three:c2'], 'commit'],
    [['three:a1', 'three:a2', 'three:a3'], 'abort'],
    [['three:c3'], 'commit'],
    [['three:a4'], 'abort'],
    [['three:a5', 'three:a6'], 'abort'],
    [['three:c4', 'three:c5'], 'commit'],
  ]
  for (const [texts, end] of steps) {
    const { writer } = await libraryTransaction(id, texts, end)
    await writer.close()
  }
  await settle(id)
  const back = (await kafka.admin.readCommitted(kafka.topic, 0, '0')).filter((m) =>
    m.value.toString().startsWith('three:'),
  )
  expect(values(back)).toEqual(['three:c1', 'three:c2', 'three:c3', 'three:c4', 'three:c5'])
  // Offsets have gaps where aborted records and markers sit; reading from the middle starts there.
  const c3 = back.find((m) => m.value.toString() === 'three:c3')?.offset as string
  const tail = await kafka.admin.readCommitted(kafka.topic, 0, c3)
  expect(values(tail)).toEqual(['three:c3', 'three:c4', 'three:c5'])
  expect(BigInt(tail[1]?.offset ?? 0) - BigInt(c3)).toBeGreaterThan(1n)
}, 120_000)

test('endOffsets: an open transaction holds the last stable offset below the high watermark until it ends', async () => {
  const id = uniqueName('txid')
  const open = await libraryTransaction(id, ['four:open'], 'open')
  const during = (await kafka.admin.endOffsets(kafka.topic))[0]
  expect(BigInt(during?.lastStable ?? -1)).toBeLessThan(BigInt(during?.highWatermark ?? -1))
  await open.tx.commit()
  await settle(id)
  const after = (await kafka.admin.endOffsets(kafka.topic))[0]
  expect(after?.lastStable).toBe(after?.highWatermark as string)
  await open.writer.close()
}, 60_000)

import { expect, test } from 'bun:test'
import { createConsumer, createProducer, KafkaUnavailableError, KafkaUsageError, parseBrokers } from './index'

test('parseBrokers splits and validates host:port lists', () => {
  expect(parseBrokers('127.0.0.1:19092, 127.0.0.1:19093')).toEqual(['127.0.0.1:19092', '127.0.0.1:19093'])
  expect(() => parseBrokers('')).toThrow('empty')
  expect(() => parseBrokers('localhost')).toThrow('not host:port')
})

test('a consumer that would read uncommitted records is refused', () => {
  expect(() =>
    createConsumer({
      brokers: ['127.0.0.1:1'],
      clientId: 'c',
      groupId: 'g',
      topics: ['t'],
      // @ts-expect-error: the type only allows true; this checks the runtime guard for JS callers.
      readCommitted: false,
      fromBeginning: true,
    }),
  ).toThrow(KafkaUsageError)
})

test('a record without a key is refused before it reaches the network', async () => {
  const producer = createProducer({ brokers: ['127.0.0.1:1'], clientId: 'p' })
  await expect(producer.send([{ topic: 't', key: '', value: Buffer.from('x') }])).rejects.toBeInstanceOf(
    KafkaUsageError,
  )
  await producer.disconnect()
})

test('no broker answering is a KafkaUnavailableError within the delivery timeout, never a hang', async () => {
  const producer = createProducer({ brokers: ['127.0.0.1:1'], clientId: 'p', deliveryTimeoutMs: 3_000 })
  const started = Date.now()
  const error = await producer.send([{ topic: 't', key: 'k', value: Buffer.from('v') }]).catch((e) => e)
  expect(error).toBeInstanceOf(KafkaUnavailableError)
  expect((error as KafkaUnavailableError).retriable).toBe(true)
  expect(Date.now() - started).toBeLessThan(10_000)
  await expect(producer.ping()).rejects.toBeInstanceOf(KafkaUnavailableError)
  await producer.disconnect()
})

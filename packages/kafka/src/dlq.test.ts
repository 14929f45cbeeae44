import { expect, test } from 'bun:test'
import { dlqTopic, sendToDlq } from './dlq'
import type { ConsumedMessage, DeliveryReport, Producer, ProducerRecord } from './types'

function recordingProducer(): Producer & { sent: ProducerRecord[] } {
  const sent: ProducerRecord[] = []
  return {
    sent,
    connect: async () => {},
    ping: async () => {},
    disconnect: async () => {},
    send: async (records): Promise<DeliveryReport[]> => {
      sent.push(...records)
      return records.map((r, i) => ({ topic: r.topic, partition: 0, offset: String(i), key: r.key }))
    },
  }
}

const message: ConsumedMessage = {
  topic: 'stock.vehicle-created',
  partition: 4,
  offset: '1234',
  key: 'a1b2',
  value: Buffer.from('{"not":"valid"}'),
  headers: { 'event-id': 'e-1', 'event-type': 'vehicle-created' },
  timestamp: 1,
  attempt: 3,
}

test('dead letter keeps key, value and headers and says where it came from and why', async () => {
  const producer = recordingProducer()
  await sendToDlq(producer, message, 'value does not match schema: /vehicle/vin pattern')
  expect(producer.sent).toHaveLength(1)
  const [record] = producer.sent
  expect(record?.topic).toBe('stock.vehicle-created.dlq')
  expect(record?.key).toBe('a1b2')
  expect(record?.value.equals(message.value)).toBe(true)
  expect(record?.headers).toEqual({
    'event-id': 'e-1',
    'event-type': 'vehicle-created',
    'dlq-reason': 'value does not match schema: /vehicle/vin pattern',
    'dlq-source-topic': 'stock.vehicle-created',
    'dlq-source-partition': '4',
    'dlq-source-offset': '1234',
  })
})

test('a keyless source record gets its coordinates as key', async () => {
  const producer = recordingProducer()
  await sendToDlq(producer, { ...message, key: null }, 'no key')
  expect(producer.sent[0]?.key).toBe('stock.vehicle-created/4/1234')
})

test('dlq topic name', () => {
  expect(dlqTopic('stock.vehicle-processed')).toBe('stock.vehicle-processed.dlq')
})

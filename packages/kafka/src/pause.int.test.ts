import { expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import { collector, testConsumer, topicFixture } from '@vehicles/testing/kafka'
import { partitionForKey } from './murmur2'

const kafka = topicFixture('pause', { partitions: 2 })
const { topic } = kafka

/** Keys that murmur2 puts on the given partition of a 2-partition topic. */
function keysFor(partition: number, count: number): string[] {
  const keys: string[] = []
  for (let i = 0; keys.length < count; i++) if (partitionForKey(`k${i}`, 2) === partition) keys.push(`k${i}`)
  return keys
}

test('a paused partition hands out nothing while the other goes on; resume continues in order', async () => {
  const seen = collector()
  const consumer = testConsumer([topic])
  try {
    await consumer.run(seen.handler)
    consumer.pause(topic, [1])
    const send = (partition: number, from: number, to: number) =>
      kafka.producer.send(
        keysFor(partition, to)
          .slice(from)
          .map((key, i) => ({ topic, key, value: Buffer.from(`p${partition}-${from + i}`) })),
      )
    await send(0, 0, 5)
    await send(1, 0, 5)
    await seen.until(5)
    await Bun.sleep(1_500)
    // Only partition 0 arrived, although partition 1's records were written before the wait.
    expect(seen.messages.map((m) => m.partition)).toEqual([0, 0, 0, 0, 0])

    consumer.resume(topic, [1])
    await seen.until(10)
    const p1 = seen.messages.filter((m) => m.partition === 1).map((m) => m.value.toString())
    expect(p1).toEqual(['p1-0', 'p1-1', 'p1-2', 'p1-3', 'p1-4'])

    // Pausing the whole topic stops both partitions.
    consumer.pause(topic)
    await send(0, 5, 7)
    await send(1, 5, 7)
    await Bun.sleep(1_500)
    expect(seen.messages.length).toBe(10)
    consumer.resume(topic)
    await waitFor('the 4 records written while the topic was paused', () =>
      seen.messages.length >= 14 ? true : undefined,
    )
  } finally {
    await consumer.close()
  }
}, 90_000)

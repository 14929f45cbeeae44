/**
 * The relay's ceiling when Kafka costs nothing: a publisher that encodes like the stock's (the real
 * serde, schema validation included) and acknowledges every transaction at once, with offsets counted
 * per partition as a broker would assign them. What is left is the relay's own work, its database
 * statements (read pending rows, mark them sent with the offsets) and the encoding: no relay design
 * that reads and marks its rows can move them faster than this, whatever its Kafka client does.
 *
 * Bench code only: nothing here reaches a broker, so nothing here is a claim about delivery.
 */
import { partitionForKey } from '../../packages/kafka/src/murmur2'
import type { Delivery, PartitionEnd, Publisher } from '../../packages/stock/src/outbox/publisher'

export function freeKafkaPublisher(encode: Publisher['encode'], partitions: number): Publisher {
  const next = new Map<string, bigint[]>()
  const ends = (topic: string): bigint[] => {
    let offsets = next.get(topic)
    if (offsets === undefined) {
      offsets = Array.from({ length: partitions }, () => 0n)
      next.set(topic, offsets)
    }
    return offsets
  }
  return {
    start: async () => {},
    encode,
    async publish(events) {
      const deliveries: Delivery[] = []
      for (const { event } of events) {
        const offsets = ends(event.topic)
        const partition = partitionForKey(event.key, partitions)
        const offset = offsets[partition] ?? 0n
        offsets[partition] = offset + 1n
        deliveries.push({ topic: event.topic, partition, offset: offset.toString() })
      }
      return deliveries
    },
    async endOffsets(topics) {
      const out = new Map<string, PartitionEnd[]>()
      for (const topic of topics)
        out.set(
          topic,
          ends(topic).map((o) => ({ high: o, stable: o })),
        )
      return out
    },
    readBack: async () => [],
    ping: async () => {},
    close: async () => {},
  }
}

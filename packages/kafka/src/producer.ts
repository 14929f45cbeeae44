import { Producer as LibraryProducer, ProduceAcks } from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { KafkaDeliveryError, KafkaUsageError } from './errors'
import { murmur2 } from './murmur2'
import type { DeliveryReport, Producer, ProducerOptions, ProducerRecord } from './types'

const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000
const REQUEST_TIMEOUT_MS = 5_000
const RETRY_DELAY_MS = 250

/**
 * Java's DefaultPartitioner for keyed records: toPositive(murmur2(key)) % partitions. The library's own
 * default uses `murmur2 >>> 0`, which sends about half the keys to a different partition than Java and
 * librdkafka's murmur2_random do for partition counts that are not powers of two. The library applies
 * `% partitionsCount` to what this returns.
 */
function javaCompatiblePartitioner(_message: unknown, key: Buffer | undefined): number {
  if (key === undefined) throw new KafkaUsageError('every record needs a key (it decides the partition)')
  return murmur2(key) & 0x7fffffff
}

function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

export function createProducer(options: ProducerOptions): Producer {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  if (options.brokers.length === 0) throw new KafkaUsageError('createProducer: brokers is empty')
  const client = new LibraryProducer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    // Idempotence makes the library force acks=all and one in-flight request per connection (so order
    // per partition survives retries); stated again here so the intent is readable.
    idempotent: true,
    acks: ProduceAcks.ALL,
    partitioner: javaCompatiblePartitioner,
    autocreateTopics: false,
    timeout: REQUEST_TIMEOUT_MS,
    connectTimeout: REQUEST_TIMEOUT_MS,
    // With idempotence the library turns retries <= 1 into "retry forever"; bound them so a dead
    // cluster surfaces as an error within about one delivery timeout.
    retries: Math.max(2, Math.ceil(deliveryTimeoutMs / (REQUEST_TIMEOUT_MS + RETRY_DELAY_MS))),
    retryDelay: RETRY_DELAY_MS,
  })
  let closed = false

  async function partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const metadata = await client.metadata({ topics })
    const counts = new Map<string, number>()
    for (const topic of topics) {
      const count = metadata.topics.get(topic)?.partitionsCount
      if (count === undefined) throw new KafkaDeliveryError(`no metadata for topic ${topic}`, topic)
      counts.set(topic, count)
    }
    return counts
  }

  async function sendOnce(records: readonly ProducerRecord[]): Promise<DeliveryReport[]> {
    const topics = [...new Set(records.map((r) => r.topic))]
    const counts = await partitionCounts(topics)
    const partitions = records.map((r) => {
      const count = counts.get(r.topic) as number
      return (murmur2(Buffer.from(r.key)) & 0x7fffffff) % count
    })
    const result = await client.send({
      messages: records.map((r, i) => ({
        topic: r.topic,
        key: Buffer.from(r.key),
        value: r.value,
        // Partition set explicitly from the same metadata we report from, so reports cannot disagree.
        partition: partitions[i] as number,
        headers:
          r.headers === undefined
            ? undefined
            : new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      })),
    })
    // The broker reports the base offset per partition; records of one partition are appended in the
    // order they were given, so the n-th record of a partition has base + n.
    const base = new Map<string, bigint>()
    for (const o of result.offsets ?? []) base.set(`${o.topic}:${o.partition}`, o.offset)
    const seen = new Map<string, bigint>()
    return records.map((r, i) => {
      const partition = partitions[i] as number
      const slot = `${r.topic}:${partition}`
      const first = base.get(slot)
      if (first === undefined) {
        throw new KafkaDeliveryError(`broker returned no acknowledgement for ${slot}`, r.topic)
      }
      const n = seen.get(slot) ?? 0n
      seen.set(slot, n + 1n)
      return { topic: r.topic, partition, offset: (first + n).toString(), key: r.key }
    })
  }

  return {
    async connect() {
      if (closed) throw new KafkaUsageError('producer is disconnected')
      try {
        await client.metadata({ topics: [] })
        await client.initIdempotentProducer({})
      } catch (error) {
        throw toKafkaError(error, 'producer connect')
      }
    },

    async send(records) {
      if (closed) throw new KafkaUsageError('producer is disconnected')
      if (records.length === 0) return []
      for (const r of records) {
        if (typeof r.key !== 'string' || r.key.length === 0) {
          throw new KafkaUsageError(`record for ${r.topic} has no key (the key decides the partition)`)
        }
        if (!Buffer.isBuffer(r.value))
          throw new KafkaUsageError(`record value for ${r.topic} is not a Buffer`)
      }
      try {
        return await withDeadline(
          sendOnce(records),
          deliveryTimeoutMs,
          () =>
            new KafkaDeliveryError(
              `records not acknowledged within ${deliveryTimeoutMs} ms`,
              records[0]?.topic ?? 'unknown',
              { retriable: true },
            ),
        )
      } catch (error) {
        throw toKafkaError(error, `send of ${records.length} record(s)`, records[0]?.topic)
      }
    },

    async ping() {
      try {
        await client.metadata({ topics: [], forceUpdate: true, retries: 0 })
      } catch (error) {
        throw toKafkaError(error, 'producer ping')
      }
    },

    async disconnect() {
      if (closed) return
      closed = true
      await client.close()
    },
  }
}

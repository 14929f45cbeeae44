import { Producer as LibraryProducer, ProduceAcks } from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { kafkaEngine } from './engine'
import { KafkaDeliveryError, KafkaUsageError } from './errors'
import { murmur2 } from './murmur2'
import { createRdProducer } from './rdkafka/producer'
import type { DeliveryReport, Producer, ProducerOptions, ProducerRecord } from './types'

const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000
const REQUEST_TIMEOUT_MS = 5_000
const RETRY_DELAY_MS = 250
/** Upper bound of records coalesced into one request (sends larger than this go alone). */
const MAX_COALESCED_RECORDS = 5_000

interface PendingSend {
  records: readonly ProducerRecord[]
  resolve: (reports: DeliveryReport[]) => void
  reject: (error: Error) => void
  /** queued → sent (part of a request) | withdrawn (its deadline passed before it was sent). */
  state: 'queued' | 'sent' | 'withdrawn'
  settled?: () => void
}

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

export function createProducer(options: ProducerOptions): Producer {
  if (kafkaEngine() === 'librdkafka') return createRdProducer(options)
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

  /**
   * Coalescing: while one request is in flight, concurrent `send` calls queue up and leave together as
   * the next request (what librdkafka's linger does with a timer). Without it, each awaited single-record
   * send is its own acks=all round trip behind the idempotent producer's one in-flight request per
   * broker, and 1 000 sends/s queue up for seconds (docs/kafka-client.md).
   */
  const queue: PendingSend[] = []
  let inFlight = false

  function pump(): void {
    if (inFlight) return
    const group: PendingSend[] = []
    let count = 0
    while (queue.length > 0 && count < MAX_COALESCED_RECORDS) {
      const next = queue.shift() as PendingSend
      if (next.state !== 'queued') continue
      next.state = 'sent'
      group.push(next)
      count += next.records.length
    }
    if (group.length === 0) return
    inFlight = true
    const all = group.flatMap((g) => g.records)
    sendOnce(all)
      .then(
        (reports) => {
          let at = 0
          for (const g of group) {
            g.settled?.()
            g.resolve(reports.slice(at, at + g.records.length))
            at += g.records.length
          }
        },
        (error: unknown) => {
          const typed = toKafkaError(error, `send of ${all.length} record(s)`, all[0]?.topic)
          for (const g of group) {
            g.settled?.()
            g.reject(typed)
          }
        },
      )
      .finally(() => {
        inFlight = false
        pump()
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
        if (!Buffer.isBuffer(r.value)) {
          throw new KafkaUsageError(`record value for ${r.topic} is not a Buffer`)
        }
      }
      const topic = records[0]?.topic ?? 'unknown'
      try {
        // Checked per caller before coalescing, so one caller's missing topic cannot fail the others.
        await partitionCounts([...new Set(records.map((r) => r.topic))])
      } catch (error) {
        throw toKafkaError(error, `send of ${records.length} record(s)`, topic)
      }
      const pending = new Promise<DeliveryReport[]>((resolve, reject) => {
        const entry: PendingSend = { records, resolve, reject, state: 'queued' }
        queue.push(entry)
        const timer = setTimeout(() => {
          // Still queued: withdraw it, nothing was written. In flight: the library cannot cancel it,
          // the caller is told it is unknown whether it was written (retriable; idempotence does not
          // cover a retry from a new producer session).
          if (entry.state === 'queued') entry.state = 'withdrawn'
          entry.reject(
            new KafkaDeliveryError(`records not acknowledged within ${deliveryTimeoutMs} ms`, topic, {
              retriable: true,
            }),
          )
        }, deliveryTimeoutMs)
        entry.settled = () => clearTimeout(timer)
        pump()
      })
      return pending
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
      // Flush: what callers are still awaiting gets its answer before the connections go.
      const deadline = Date.now() + deliveryTimeoutMs
      while ((inFlight || queue.some((q) => q.state === 'queued')) && Date.now() < deadline) {
        await Bun.sleep(10)
      }
      await client.close()
    },
  }
}

/**
 * The transactional producer on @platformatic/kafka: one fixed transactional id per writer role, each
 * `sendTransaction` one Kafka transaction (begin, produce, commit), a newer holder of the id fencing
 * this one (`KafkaFencedError`).
 *
 * One instance is one producer session (one producer epoch). After any rejection it refuses further
 * sends: the way on is a new instance, whose `connect` (InitProducerId) bumps the epoch. That bump is
 * what makes a failed transaction final: the coordinator completes or aborts whatever the old epoch
 * left open before it answers, and the partition leaders refuse the old epoch's late appends from then
 * on. Reusing a session after a request whose outcome is unknown gives no such guarantee.
 */
import { Producer as LibraryProducer, ProduceAcks } from '@platformatic/kafka'
import { isConcurrentTransactions, isFencedError, toKafkaError } from './client-errors'
import {
  KafkaDeliveryError,
  KafkaError,
  KafkaFencedError,
  KafkaUnavailableError,
  KafkaUsageError,
} from './errors'
import { murmur2 } from './murmur2'
import type {
  DeliveryReport,
  ProducerRecord,
  TransactionalProducer,
  TransactionalProducerOptions,
} from './types'

const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000
const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000
const REQUEST_TIMEOUT_MS = 5_000
const RETRY_DELAY_MS = 250
/**
 * The next transaction begins right after the previous commit is acknowledged, while the coordinator
 * still writes that commit's markers; it answers CONCURRENT_TRANSACTIONS until they are written (a few
 * milliseconds). Retrying that after the general delay would cost each transaction 250 ms.
 */
const CONCURRENT_RETRY_DELAY_MS = 10
/** How long a failed transaction's abort may take before the session is given up without it. */
const ABORT_TIMEOUT_MS = 5_000

/** Java's DefaultPartitioner for keyed records (see producer.ts); the partition is set explicitly. */
const partitionOf = (key: string, count: number) => (murmur2(Buffer.from(key)) & 0x7fffffff) % count

function validate(records: readonly ProducerRecord[]): void {
  for (const r of records) {
    if (typeof r.key !== 'string' || r.key.length === 0)
      throw new KafkaUsageError(`record for ${r.topic} has no key (the key decides the partition)`)
    if (!Buffer.isBuffer(r.value)) throw new KafkaUsageError(`record value for ${r.topic} is not a Buffer`)
  }
}

/**
 * The library sends its request timeout as the transaction timeout of InitProducerId (it has no option
 * of its own for it). The request timeout is wanted short (a dead broker is noticed in seconds), the
 * transaction timeout as configured, so the option is raised for the init request only.
 */
async function withTransactionTimeout<T>(client: LibraryProducer, ms: number, run: () => Promise<T>) {
  const key = Object.getOwnPropertySymbols(client).find((s) => s.description === 'plt.kafka.base.options')
  const settings =
    key === undefined ? undefined : (client as unknown as Record<symbol, { timeout: number }>)[key]
  if (settings === undefined)
    throw new KafkaUsageError('client library changed: no options to set the transaction timeout in')
  const before = settings.timeout
  settings.timeout = ms
  try {
    return await run()
  } finally {
    settings.timeout = before
  }
}

export function createTransactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
  if (options.brokers.length === 0) throw new KafkaUsageError('createTransactionalProducer: brokers is empty')
  if (options.transactionalId.length === 0) throw new KafkaUsageError('transactionalId is empty')
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const transactionTimeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS
  const client = new LibraryProducer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    transactionalId: options.transactionalId,
    // No producer id of our own: InitProducerId asks for the id's current one, bumping its epoch (the
    // library's default, 0/0, makes the coordinator fence the newcomer instead of the old holder).
    producerId: -1n,
    producerEpoch: -1,
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    timeout: REQUEST_TIMEOUT_MS,
    connectTimeout: REQUEST_TIMEOUT_MS,
    // CONCURRENT_TRANSACTIONS (the previous transaction's markers still being written, or an older
    // session's transaction being completed for an init) is answered in milliseconds and clears by
    // itself: retried for about one delivery timeout. Other failures wait longer between attempts, so
    // they run into `sendTransaction`'s own deadline first.
    retries: Math.max(2, Math.ceil(deliveryTimeoutMs / CONCURRENT_RETRY_DELAY_MS)),
    retryDelay: (_client, _operation, _attempt, _retries, error) =>
      isConcurrentTransactions(error) ? CONCURRENT_RETRY_DELAY_MS : RETRY_DELAY_MS,
  })
  let state: 'new' | 'ready' | 'failed' | 'closed' = 'new'
  let failure: KafkaError | undefined
  let queue: Promise<unknown> = Promise.resolve()

  function classify(error: unknown, context: string, topic?: string): KafkaError {
    if (error instanceof KafkaError) return error
    if (isFencedError(error))
      return new KafkaFencedError(
        `${context}: a newer producer holds transactional id ${options.transactionalId}`,
        error,
      )
    return toKafkaError(error, context, topic)
  }

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

  async function transact(records: readonly ProducerRecord[]): Promise<DeliveryReport[]> {
    const counts = await partitionCounts([...new Set(records.map((r) => r.topic))])
    const partitions = records.map((r) => partitionOf(r.key, counts.get(r.topic) as number))
    const tx = await client.beginTransaction()
    try {
      const result = await tx.send({
        messages: records.map((r, i) => ({
          topic: r.topic,
          key: Buffer.from(r.key),
          value: r.value,
          partition: partitions[i] as number,
          headers:
            r.headers === undefined
              ? undefined
              : new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        })),
      })
      await tx.commit()
      // Base offset per partition; the n-th record of a partition in `records` has base + n.
      const base = new Map<string, bigint>()
      for (const o of result.offsets ?? []) base.set(`${o.topic}:${o.partition}`, o.offset)
      const seen = new Map<string, bigint>()
      return records.map((r, i) => {
        const partition = partitions[i] as number
        const slot = `${r.topic}:${partition}`
        const first = base.get(slot)
        if (first === undefined) throw new KafkaDeliveryError(`no acknowledgement for ${slot}`, r.topic)
        const n = seen.get(slot) ?? 0n
        seen.set(slot, n + 1n)
        return { topic: r.topic, partition, offset: (first + n).toString(), key: r.key }
      })
    } catch (error) {
      // Abort what the coordinator may hold open (bounded: the broker may be the reason we are here).
      // Whether it worked or not, this session sends nothing more (see the opening comment).
      if (!tx.completed)
        await Promise.race([tx.abort().catch(() => {}), Bun.sleep(ABORT_TIMEOUT_MS)]).catch(() => {})
      throw error
    }
  }

  async function sendOne(records: readonly ProducerRecord[]): Promise<DeliveryReport[]> {
    if (state === 'failed')
      throw new KafkaUsageError(`transactional producer failed before: ${failure?.message}`)
    if (state !== 'ready') throw new KafkaUsageError(`transactional producer is ${state}, not connected`)
    const topic = records[0]?.topic ?? 'unknown'
    try {
      return await withDeadline(transact(records), () => {
        return new KafkaDeliveryError(
          `transaction not committed within ${deliveryTimeoutMs} ms (outcome unknown)`,
          topic,
          { retriable: true },
        )
      })
    } catch (error) {
      state = 'failed'
      failure = classify(error, `transaction of ${records.length} record(s)`, topic)
      throw failure
    }
  }

  /** `work`, or the error `late()` makes once the delivery timeout passed (the work goes on unobserved). */
  async function withDeadline<T>(work: Promise<T>, late: () => KafkaError): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(late()), deliveryTimeoutMs)
    })
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    async connect() {
      if (state !== 'new') throw new KafkaUsageError(`connect: producer is ${state}; create a new one`)
      try {
        await client.metadata({ topics: [] })
        // init_transactions: beginning a transaction runs InitProducerId for the id (the fencing step);
        // the local transaction object is dropped again, nothing reached a partition.
        const init = withTransactionTimeout(client, transactionTimeoutMs, async () => {
          const tx = await client.beginTransaction()
          await tx.cancel()
        })
        await withDeadline(
          init,
          () =>
            new KafkaUnavailableError(
              `init of ${options.transactionalId} not done within ${deliveryTimeoutMs} ms`,
            ),
        )
        state = 'ready'
      } catch (error) {
        state = 'failed'
        failure = classify(error, `init of transactional id ${options.transactionalId}`)
        throw failure
      }
    },

    sendTransaction(records) {
      if (state === 'closed') return Promise.reject(new KafkaUsageError('producer is disconnected'))
      if (records.length === 0) return Promise.resolve([])
      try {
        validate(records)
      } catch (error) {
        return Promise.reject(error)
      }
      const run = queue.then(() => sendOne(records))
      queue = run.catch(() => {})
      return run
    },

    async ping() {
      try {
        await client.metadata({ topics: [], forceUpdate: true, retries: 0 })
      } catch (error) {
        throw toKafkaError(error, 'producer ping')
      }
    },

    async disconnect() {
      if (state === 'closed') return
      state = 'closed'
      // Forced: a failed session may still have requests in flight; they may land or not, the next
      // session's init decides their transaction either way.
      await client.close(true).catch(() => {})
    },
  }
}

/**
 * Where relayed events go: the contracts' serde (wire format with the registered schema id) and the
 * Kafka module's transactional producer (one fixed transactional id per outbox; each publish is one
 * transaction, resolved once its commit is acknowledged). Reading back under read_committed is here
 * too. Nothing else in the stock service touches Kafka or the registry.
 */
import {
  type Contracts,
  connectContracts,
  EVENT_CONTRACTS,
  type EventTopic,
  type EventValues,
  TOPICS,
} from '@vehicles/contracts'
import {
  type Admin,
  createAdmin,
  createTransactionalProducer,
  type TransactionalProducer,
} from '@vehicles/kafka'

/** The header naming the outbox row a record was sent for: what reading back identifies rows by. */
export const OUTBOX_ID_HEADER = 'outbox-id'
/**
 * The header naming the outbox (its transactional id): row ids are unique in one outbox only, so a
 * record counts as one of ours when it names our outbox too.
 */
export const OUTBOX_HEADER = 'outbox'

export interface OutgoingEvent {
  topic: string
  key: string
  payload: unknown
  headers: Record<string, string>
}

/** Where a partition ends: `stable` (read_committed readers see up to it) ≤ `high` (all appended). */
export interface PartitionEnd {
  high: bigint
  stable: bigint
}

/** One record of ours found on a partition by reading it back. */
export interface FoundRecord {
  offset: string
  /** The `outbox-id` header; undefined for a record another writer (or another outbox) put there. */
  outboxId: string | undefined
}

/** Where the brokers put one record (from their acknowledgement). */
export interface Delivery {
  topic: string
  partition: number
  /** Decimal string (Kafka offsets are 64-bit). */
  offset: string
}

export interface Publisher {
  /**
   * Binds the schema ids and opens a new producer session for the outbox's transactional id; rejects
   * while Kafka or the registry is away. The session's init fences every older one (this process's
   * failed one, a deposed leader's) and waits until their open transaction is committed or aborted:
   * after it, nothing of theirs can still appear on the topics.
   */
  start(): Promise<void>
  /** Throws `ContractViolation` when the payload breaks its schema (it can never be sent). */
  encode(event: OutgoingEvent): Buffer
  /**
   * Sends the events in one transaction; resolves once its commit is acknowledged, with where each
   * record went. On rejection the session is spent: `close`, then `start` a new one before anything else.
   */
  publish(events: readonly { event: OutgoingEvent; value: Buffer }[]): Promise<Delivery[]>
  /** Every partition's high watermark and last stable offset, per topic, index = partition. */
  endOffsets(topics: readonly string[]): Promise<Map<string, PartitionEnd[]>>
  /** The committed records of one partition from `fromOffset` to its last stable offset. */
  readBack(topic: string, partition: number, fromOffset: string): Promise<FoundRecord[]>
  ping(): Promise<void>
  /**
   * Resolves when the topics can take acks=all writes now (every partition has a leader and at least
   * `min.insync.replicas` in sync); rejects saying what is missing. The relay asks before resuming
   * after a failure: a send into a cluster that is still recovering tends to time out with its
   * outcome unknown, and the retry of an unknown outcome is how an event gets written twice.
   */
  writable?(): Promise<void>
  close(): Promise<void>
}

export interface KafkaPublisherOptions {
  brokers: readonly string[]
  registryUrl: string
  clientId: string
  deliveryTimeoutMs: number
  /** Fixed per outbox: every relay of one outbox uses the same id, so Kafka lets one of them write. */
  transactionalId: string
  /** Transactional ids used in turn (default RELAY_ROTATION); the same for every relay of one outbox. */
  rotation?: number
}

/**
 * The relay commits back to back under load, and Kafka refuses an id's next transaction until the
 * previous one is completed (20–40 ms after the commit is acknowledged, retried by librdkafka every
 * 20 ms): eight ids in turn take that wait out of nearly every send. `bun run bench:txn-cycle --
 * --rotation n`, back to back, p50 / p90 / p99 ms: one id 28 / 33 / 50, four 6 / 27 / 33, eight
 * 7 / 12 / 30; each id costs the process about 0.8 MiB (the sessions share one blocking worker).
 * Fixed in code, not a setting: a taking-over relay fences exactly the ids it initialises, so every
 * relay of one outbox must use the same ones. Changing it (like changing RELAY_TRANSACTIONAL_ID) means
 * stopping every relay of the outbox first.
 */
export const RELAY_ROTATION = 8

const isEventTopic = (topic: string): topic is EventTopic =>
  topic === TOPICS.vehicleCreated || topic === TOPICS.vehicleProcessed

/** Connects a client; one that fails to connect is disconnected, so its half-open resources go too. */
async function connectedOrReleased<T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(
  client: T,
): Promise<T> {
  try {
    await client.connect()
  } catch (error) {
    await client.disconnect().catch(() => {})
    throw error
  }
  return client
}

/** Partitions a transactional send would fail on: no leader, or fewer in-sync replicas than required. */
function unwritablePartitions(topics: Awaited<ReturnType<Admin['describeTopics']>>): string[] {
  const problems: string[] = []
  for (const topic of topics) {
    const minIsr = Number(topic.configs['min.insync.replicas'] ?? '1')
    for (const p of topic.partitions) {
      if (p.leader < 0) problems.push(`${topic.topic}/${p.partition} has no leader`)
      else if (p.isr.length < minIsr)
        problems.push(
          `${topic.topic}/${p.partition} has ${p.isr.length} in-sync replica(s) of ${minIsr} needed`,
        )
    }
  }
  return problems
}

/**
 * The publisher's admin client, connected on first use. After a failed use the next one gets a fresh
 * client: this one may hold connections to brokers that went away.
 */
function adminHolder(brokers: readonly string[], clientId: string) {
  let admin: Admin | undefined
  const connected = async (): Promise<Admin> => {
    admin ??= await connectedOrReleased(createAdmin({ brokers, clientId }))
    return admin
  }
  const close = async () => {
    const spent = admin
    admin = undefined
    await spent?.disconnect().catch(() => {})
  }
  const use = async <T>(work: (reader: Admin) => Promise<T>): Promise<T> => {
    const reader = await connected()
    try {
      return await work(reader)
    } catch (error) {
      await close()
      throw error
    }
  }
  return { connected, use, close }
}

export function createKafkaPublisher(options: KafkaPublisherOptions): Publisher {
  let producer: TransactionalProducer | undefined
  let contracts: Contracts | undefined
  const admin = adminHolder(options.brokers, `${options.clientId}-admin`)
  const withAdmin = admin.use
  return {
    async start() {
      // The registry first: it is cheap and, when the schema is not registered, the reason to say so.
      contracts ??= await connectContracts({
        registryUrl: options.registryUrl,
        contracts: EVENT_CONTRACTS.filter((c) => c.topic === TOPICS.vehicleCreated),
        retry: { attempts: 2 },
      })
      if (producer === undefined) {
        producer = await connectedOrReleased(
          createTransactionalProducer({
            brokers: options.brokers,
            clientId: options.clientId,
            transactionalId: options.transactionalId,
            rotation: options.rotation ?? RELAY_ROTATION,
            deliveryTimeoutMs: options.deliveryTimeoutMs,
          }),
        )
      }
    },
    encode(event) {
      if (contracts === undefined) throw new Error('publisher not started')
      if (!isEventTopic(event.topic)) throw new Error(`no contract for topic ${event.topic}`)
      return contracts.encode(event.topic, event.payload as EventValues[typeof event.topic])
    },
    async publish(events) {
      if (producer === undefined) throw new Error('publisher not started')
      return await producer.sendTransaction(
        events.map(({ event, value }) => ({
          topic: event.topic,
          key: event.key,
          value,
          headers: { ...event.headers, [OUTBOX_HEADER]: options.transactionalId },
        })),
      )
    },
    endOffsets: (topics) =>
      withAdmin(async (reader) => {
        const ends = new Map<string, PartitionEnd[]>()
        for (const topic of topics) {
          const list = await reader.endOffsets(topic)
          ends.set(
            topic,
            list.map((e) => ({ high: BigInt(e.highWatermark), stable: BigInt(e.lastStable) })),
          )
        }
        return ends
      }),
    async readBack(topic, partition, fromOffset) {
      const reader = await admin.connected()
      const records = await reader.readCommitted(topic, partition, fromOffset)
      return records.map((r) => ({
        offset: r.offset,
        outboxId:
          r.headers[OUTBOX_HEADER] === options.transactionalId ? r.headers[OUTBOX_ID_HEADER] : undefined,
      }))
    },
    async ping() {
      if (producer === undefined) throw new Error('not connected yet')
      await producer.ping()
    },
    writable: () =>
      withAdmin(async (reader) => {
        const problems = unwritablePartitions(await reader.describeTopics([TOPICS.vehicleCreated]))
        if (problems.length > 0) throw new Error(`not writable yet: ${problems.slice(0, 3).join('; ')}`)
      }),
    async close() {
      const spent = producer
      producer = undefined
      await spent?.disconnect().catch(() => {})
      await admin.close()
    },
  }
}

import type { KafkaError } from './errors'

/**
 * The public shape of the Kafka module. Services (stock's outbox relay, ads' projection, tests) code
 * against these types only; which client library sits behind them is decided in docs/kafka-client.md.
 */

/** Broker list as `host:port` strings, e.g. from `KAFKA_BROKERS` split on commas. */
export type Brokers = readonly string[]

export interface ProducerOptions {
  brokers: Brokers
  clientId: string
  /** How long one `send` may wait for every acknowledgement before it rejects (default 30 000 ms). */
  deliveryTimeoutMs?: number
}

/** One record to produce. The key decides the partition (Java-compatible murmur2). */
export interface ProducerRecord {
  topic: string
  key: string
  value: Buffer
  headers?: Record<string, string>
}

/** The broker's acknowledgement of one record (acks=all, idempotent producer). */
export interface DeliveryReport {
  topic: string
  partition: number
  /** Offset assigned by the broker, as a decimal string (Kafka offsets are 64-bit). */
  offset: string
  key: string
}

/** The life of a producer or an admin client: connected before use, pinged for readiness, disconnected. */
export interface Connection {
  connect(): Promise<void>
  /** Cheap metadata round trip, for `/health/ready`. Rejects with `KafkaUnavailableError`. */
  ping(): Promise<void>
  disconnect(): Promise<void>
}

export interface Producer extends Connection {
  /**
   * Sends every record and resolves only once each one is acknowledged by all in-sync replicas, in the
   * order of `records`. Rejects with a `KafkaError` subclass otherwise (no partial success is reported
   * as success: the caller retries the whole batch; idempotence makes the retry safe within a session).
   */
  send(records: readonly ProducerRecord[]): Promise<DeliveryReport[]>
}

/**
 * A producer whose records become visible only through committed transactions. The transactional id is
 * fixed per writer role (one per outbox), so Kafka itself guarantees a single writer: `connect` bumps the
 * producer epoch, which fences every older producer holding the same id and aborts its open transaction.
 * With `rotation` it commits on several ids in turn, all initialised by `connect`: Kafka refuses an id's
 * next transaction until it has completed the previous one (20–40 ms after the commit here).
 */
export interface TransactionalProducerOptions extends ProducerOptions {
  transactionalId: string
  /** Transactional ids used in turn (default 1; n > 1: `${transactionalId}-0` … `-${n - 1}`). */
  rotation?: number
  /** Broker-side bound of one open transaction before the coordinator aborts it (default 60 000 ms). */
  transactionTimeoutMs?: number
}

export interface TransactionalProducer extends Connection {
  /** init_transactions: registers the id, fences older holders, aborts what they left open. */
  connect(): Promise<void>
  /**
   * Sends `records` in one transaction (begin, produce, commit) and resolves with one delivery report per
   * record, in order, once the commit is acknowledged. Rejects with:
   * - `KafkaFencedError`: a newer producer holds the id; this one can never commit again, disconnect it;
   * - any other `KafkaError`: the transaction was aborted, or its outcome is unknown (a commit that timed
   *   out may still complete). The caller finds out which by reading the partitions back under
   *   read_committed (`Admin.readCommitted`), never by counting.
   * Calls are serialised: one transaction is open at a time.
   */
  sendTransaction(records: readonly ProducerRecord[]): Promise<DeliveryReport[]>
}

export interface ConsumerOptions {
  brokers: Brokers
  clientId: string
  groupId: string
  topics: readonly string[]
  /** Must be true: consumers never see records of aborted or open transactions. */
  readCommitted: true
  /** Where a group without committed offsets starts; true = earliest. */
  fromBeginning: boolean
  /** Delay before a message whose handler threw is handed to the handler again (default 1 000 ms). */
  retryBackoffMs?: number
  sessionTimeoutMs?: number
  /**
   * Static group membership (librdkafka `group.instance.id`): a member restarted with the same id within
   * the session timeout takes its own place back at once, instead of joining as a new member that waits
   * for the old one's session to expire. Must be unique per running consumer of the group (a second one
   * with the same id fences the first). Static members do not leave the group on close: their partitions
   * wait the session timeout unless the same id comes back. Unset: dynamic membership.
   */
  groupInstanceId?: string
  /**
   * Upper bound of fetched-but-unfinished messages held in memory; fetching stops when it is reached
   * (also while partitions are paused) and starts again when half of it is handled. Default 1 000.
   */
  maxBufferedMessages?: number
  /**
   * Most messages of one partition handed to a batch handler at once (`runBatches`); default 500. Each
   * batch is what was fetched and is waiting for that partition, in offset order.
   */
  maxBatchSize?: number
  /**
   * Told when the consumer is fetching again after its fetch stream died (`onError` stage 'consumer'),
   * with how long it was stopped and whether it kept its group membership (same member id, so the
   * group did not have to wait for the old member's session to expire).
   */
  onRecovered?: (info: { stoppedMs: number; sameMember: boolean }) => void
  /**
   * Told about every failure that does not reach a caller: a handler that threw (before its retry), a
   * commit the broker refused (the message will be delivered again), the fetch stream dying. The module
   * never logs by itself: services log through this.
   */
  onError?: (error: KafkaError, context: ConsumerErrorContext) => void
}

export interface ConsumerErrorContext {
  /** What failed: the handler, a commit, or the consumer as a whole (fetch stream, group). */
  stage: 'handler' | 'commit' | 'consumer'
  topic?: string
  partition?: number
  offset?: string
  attempt?: number
}

/** One consumed record, as the handler sees it. */
export interface ConsumedMessage {
  topic: string
  partition: number
  /** Decimal string (64-bit offsets). */
  offset: string
  /** Null only for records written without a key (never by this module's producer). */
  key: string | null
  value: Buffer
  headers: Record<string, string>
  /** Record timestamp, ms since epoch. */
  timestamp: number
  /** 1 on first delivery in this consumer; grows each time the handler threw for this record. */
  attempt: number
}

/**
 * Handles one message. Contract:
 * - resolve  → the message is finished; its offset (+1) becomes committable and is committed.
 * - throw    → nothing is committed and the partition does not advance: the same message is handed to
 *              the handler again after `retryBackoffMs`, with `attempt` + 1. A message is never skipped.
 *              The handler decides retry vs dead letter: to give up on a message, call `sendToDlq` and
 *              resolve.
 * Messages of one partition are handled one at a time, in offset order; partitions run concurrently.
 */
export type MessageHandler = (message: ConsumedMessage) => Promise<void>

/** Consecutive messages of one partition, in offset order, as a batch handler sees them. */
export interface ConsumedBatch {
  topic: string
  partition: number
  /** At least one. */
  messages: ConsumedMessage[]
  /** 1 on first delivery; grows each time the handler threw for this batch (the same messages again). */
  attempt: number
}

/**
 * Handles a batch of one partition. Contract (that of `MessageHandler`, for the batch as a whole):
 * - resolve → every message of the batch is finished; the offset after the last one is committed, once.
 * - throw   → nothing of the batch is committed; the same messages are handed again after
 *             `retryBackoffMs` with `attempt` + 1. To give up on one message (poison), send it to the
 *             DLQ and resolve for the batch.
 * Batches of one partition are handled one at a time, in offset order; partitions run concurrently.
 */
export type BatchHandler = (batch: ConsumedBatch) => Promise<void>

/** `Consumer.ownership`: partitions held now, partitions of the subscribed topics, assignment changes. */
export interface ConsumerOwnership {
  owned: number
  total: number
  changes: number
}

export interface Consumer {
  /** Joins the group and starts handing messages to `handler`. Resolves once the consumer is running. */
  run(handler: MessageHandler): Promise<void>
  /**
   * Like `run`, but hands out everything fetched and waiting for a partition (up to `maxBatchSize`) as
   * one batch, and commits once per batch. Use one of `run` and `runBatches` per consumer.
   */
  runBatches(handler: BatchHandler): Promise<void>
  /** Stops fetching from these partitions (all of the topic's assigned partitions when omitted). */
  pause(topic: string, partitions?: readonly number[]): void
  resume(topic: string, partitions?: readonly number[]): void
  /**
   * Lag per partition this member holds, from what the client already knows (the partition's end from
   * the last fetch, the member's last commit or its fetch position): no request, safe to call during an
   * outage. Partitions it has not fetched from yet are left out.
   */
  lag(): PartitionLag[]
  /**
   * Partitions held, partitions of the topics (one metadata round trip), assignment changes so far. A
   * member holding every partition whose `changes` did not move knows no other member consumed meanwhile.
   */
  ownership(): Promise<ConsumerOwnership>
  /** Cheap metadata round trip, for `/health/ready`. */
  ping(): Promise<void>
  /**
   * Graceful stop: fetches nothing more, waits for the in-flight handlers, commits their offsets,
   * leaves the group. Safe to call twice.
   */
  close(): Promise<void>
}

export interface AdminOptions {
  brokers: Brokers
  clientId?: string
}

export interface CreateTopicSpec {
  topic: string
  partitions: number
  replicationFactor: number
  /** Topic-level configs, e.g. `{ 'min.insync.replicas': '2' }`. */
  configs?: Record<string, string>
}

export interface PartitionDescription {
  partition: number
  leader: number
  replicas: number[]
  isr: number[]
}

export interface TopicDescription {
  topic: string
  partitions: PartitionDescription[]
  /** Topic configs as the brokers report them (defaults included). */
  configs: Record<string, string>
}

export interface BrokerDescription {
  nodeId: number
  host: string
  port: number
}

export interface ClusterDescription {
  clusterId: string | null
  controllerId: number | null
  brokers: BrokerDescription[]
}

export interface PartitionLag {
  topic: string
  partition: number
  /** Committed offset of the group, or null when the group has none for this partition. */
  committed: string | null
  /** High watermark (log end offset). */
  end: string
  /** end - committed (end - 0 when nothing committed). */
  lag: number
}

export interface PartitionEnds {
  /** Decimal strings (64-bit offsets). */
  highWatermark: string
  lastStable: string
}

export interface Admin extends Connection {
  createTopics(topics: readonly CreateTopicSpec[]): Promise<void>
  deleteTopics(topics: readonly string[]): Promise<void>
  listTopics(): Promise<string[]>
  describeTopics(topics: readonly string[]): Promise<TopicDescription[]>
  describeCluster(): Promise<ClusterDescription>
  /**
   * Committed offsets and lag of a group, per partition of the given topics, asked of the group
   * coordinator. For tools and tests: librdkafka 2.16 can abort the process when this request fails
   * (brokers failing); a service reports its lag from its consumer's `lag()`, which asks nobody.
   */
  groupLag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]>
  /**
   * Per partition of `topic` (index = partition): the high watermark and the last stable offset. They
   * differ while a transaction is open on the partition: its records, and any record after its first
   * one, sit between the two, undecided for read_committed readers.
   */
  endOffsets(topic: string): Promise<PartitionEnds[]>
  /**
   * Every committed record of one partition from `fromOffset` (inclusive) up to its last stable offset
   * as of the call, read under read_committed without joining a group: aborted records and transaction
   * markers are skipped, so what is returned is exactly what a consumer of the topic will ever see there.
   */
  readCommitted(topic: string, partition: number, fromOffset: string): Promise<ConsumedMessage[]>
}

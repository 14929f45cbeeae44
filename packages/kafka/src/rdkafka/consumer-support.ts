/** Pieces of the librdkafka consumer (consumer.ts): its settings and its offset commits. */
import { CString, type Pointer } from 'bun:ffi'
import { KafkaError } from '../errors'
import type { ConsumerErrorContext, ConsumerOptions } from '../types'
import { baseSettings, type NativeClient } from './client'
import { type Fetched, type Lane, type Sleepers, slotOf } from './lanes'
import { rd } from './library'
import { ERR, kafkaErrorOf, readPartitionList, takeError, toKafkaError, withPartitionList } from './native'

export const CONSUMER_DEFAULTS = {
  retryBackoffMs: 1_000,
  sessionTimeoutMs: 30_000,
  maxBufferedMessages: 1_000,
  maxBatchSize: 500,
}
export const PING_TIMEOUT_MS = 1_500
/** Longest `run` waits for the first assignment before it resolves anyway. */
export const JOIN_WAIT_MS = 10_000
/** Errors librdkafka reports and recovers from by itself (a broker connection dropped, and so on). */
export const SELF_HEALING = new Set<number>([ERR.TRANSPORT, ERR.PARTITION_EOF, -181 /* _RESOLVE: DNS */])

export type TopicPartition = { topic: string; partition: number }

/** `onError` of the options, typed, and never allowed to throw into the consumer. */
export function reporterFor(
  options: ConsumerOptions,
): (error: unknown, context: ConsumerErrorContext) => void {
  return (error, context) => {
    const typed = error instanceof KafkaError ? error : new KafkaError(String(error), { cause: error })
    try {
      options.onError?.(typed, context)
    } catch {
      // A failing error reporter must not take the consumer down with it.
    }
  }
}

/** Pauses or resumes fetching of partitions in librdkafka (the lanes check pauses themselves). */
export function setFetchingOf(
  client: NativeClient | undefined,
  partitions: TopicPartition[],
  fetching: boolean,
) {
  if (client === undefined || partitions.length === 0) return
  const lib = rd()
  withPartitionList(partitions, (list) =>
    fetching
      ? lib.rd_kafka_resume_partitions(client.handle, list)
      : lib.rd_kafka_pause_partitions(client.handle, list),
  )
}

/** `topic:partition` slots back to pairs. */
export function partitionsOf(slots: Iterable<string>): TopicPartition[] {
  return [...slots].map((slot) => {
    const at = slot.lastIndexOf(':')
    return { topic: slot.slice(0, at), partition: Number(slot.slice(at + 1)) }
  })
}

export function consumerSettings(options: ConsumerOptions, sessionTimeoutMs: number): Record<string, string> {
  return {
    ...baseSettings(options.brokers, options.clientId),
    'group.id': options.groupId,
    'isolation.level': 'read_committed',
    'enable.auto.commit': 'false',
    'enable.auto.offset.store': 'false',
    'auto.offset.reset': options.fromBeginning ? 'earliest' : 'latest',
    // Incremental rebalancing; why in consumer.ts.
    'partition.assignment.strategy': 'cooperative-sticky',
    'session.timeout.ms': String(sessionTimeoutMs),
    ...(options.groupInstanceId === undefined ? {} : { 'group.instance.id': options.groupInstanceId }),
    'heartbeat.interval.ms': String(Math.max(500, Math.floor(sessionTimeoutMs / 10))),
    // Membership follows heartbeats (librdkafka's threads), not how long a handler takes: the module
    // holds fetched messages itself and polls only when woken.
    'max.poll.interval.ms': '86400000',
    // Prefetch bounded for memory (the module's own buffer is maxBufferedMessages). Once the bound is
    // reached librdkafka waits fetch.queue.backoff.ms before it fetches again: at the default 1 s the
    // consumer managed 16 000 msg/s, at 10 ms 245 000 (1 KB records, measured).
    'queued.max.messages.kbytes': '8192',
    'fetch.queue.backoff.ms': '10',
    'fetch.wait.max.ms': '100',
  }
}

export interface CommitterHost {
  client(): NativeClient | undefined
  /** The lane's partition is still this member's and the consumer is not closing. */
  owns(lane: Lane): boolean
  /** The lane is still the partition's current lane (not replaced after a restart). */
  current(lane: Lane): boolean
  report(error: unknown, context: ConsumerErrorContext): void
  sleepers: Sleepers
  retryBackoffMs: number
}

/**
 * Offset commits through `rd_kafka_commit_queue`: asynchronous, the result comes back as an event on
 * the consumer's queue with the commit's id as opaque. At most one commit per partition is in flight;
 * offsets finished meanwhile wait and only the newest is sent when it returns (one commit per message
 * would be one OffsetCommit request per message: measured at 14 000 msg/s and 390 MiB). A refused
 * commit is reported and, unless a newer one waits, sent again after the back-off.
 */
/** Test hook (not exported from the package): a failure of the consumer as a whole, as a dead session. */
export const kInjectRdFailure = Symbol('injectRdFailure')

export function createCommitter(host: CommitterHost) {
  const lib = rd()
  const inFlight = new Map<number, { lane: Lane; last: Fetched }>()
  /** Per lane: a commit is in flight, and the newest finished message waiting behind it. */
  const waiting = new Map<Lane, Fetched | undefined>()
  /** Per lane: the newest offset sent, so a retry never commits an older one over it. */
  const newest = new WeakMap<Lane, string>()
  /** Per lane: the offset the group now holds for it (the next to read), as this member committed it. */
  const committed = new WeakMap<Lane, bigint>()
  let nextId = 1

  function commit(lane: Lane, last: Fetched): void {
    if (waiting.has(lane)) {
      waiting.set(lane, last)
      return
    }
    send(lane, last)
  }

  function send(lane: Lane, last: Fetched): void {
    const client = host.client()
    if (client === undefined || !host.owns(lane)) return
    const id = nextId++
    inFlight.set(id, { lane, last })
    waiting.set(lane, undefined)
    newest.set(lane, last.offset)
    const code = withPartitionList(
      [{ topic: lane.topic, partition: lane.partition, offset: BigInt(last.offset) + 1n }],
      (list) => lib.rd_kafka_commit_queue(client.handle, list, client.queue, null, id as unknown as Pointer),
    )
    if (code !== ERR.NO_ERROR) settle(id, code)
  }

  function settle(id: number, code: number): void {
    const entry = inFlight.get(id)
    inFlight.delete(id)
    if (entry === undefined) return
    const { lane, last } = entry
    const next = waiting.get(lane)
    waiting.delete(lane)
    if (next !== undefined) send(lane, next)
    if (code === ERR.NO_ERROR) {
      const offset = BigInt(last.offset) + 1n
      if ((committed.get(lane) ?? -1n) < offset) committed.set(lane, offset)
      return
    }
    host.report(kafkaErrorOf(code, `commit of ${lane.topic}/${lane.partition}@${last.offset}`), {
      stage: 'commit',
      topic: lane.topic,
      partition: lane.partition,
      offset: last.offset,
    })
    if (next !== undefined) return
    void host.sleepers.sleep(host.retryBackoffMs).then(() => {
      if (newest.get(lane) === last.offset && !waiting.has(lane) && host.current(lane)) commit(lane, last)
    })
  }

  return {
    commit,
    /** An OFFSET_COMMIT event: the request's error, or the first partition's. */
    onResult(event: Pointer): void {
      const id = Number(lib.rd_kafka_event_opaque(event) ?? 0)
      let code = lib.rd_kafka_event_error(event)
      for (const p of readPartitionList(lib.rd_kafka_event_topic_partition_list(event))) {
        if (p.err !== ERR.NO_ERROR) code = p.err
      }
      settle(id, code)
    },
    /** Commits in flight or waiting (close waits for them). */
    pending: () => inFlight.size,
    /** The offset this member last committed for a lane (none before its first commit). */
    committedOf: (lane: Lane | undefined) => (lane === undefined ? undefined : committed.get(lane)),
  }
}

/** What the application paused: whole topics, or single partitions. */
export class UserPauses {
  private readonly topics = new Set<string>()
  private readonly partitions = new Set<string>()

  has(topic: string, partition: number): boolean {
    if (this.topics.size === 0 && this.partitions.size === 0) return false
    return this.topics.has(topic) || this.partitions.has(slotOf(topic, partition))
  }

  /** `partitions` omitted: the whole topic (resuming it also resumes its single partitions). */
  set(topic: string, partitions: readonly number[] | undefined, paused: boolean): void {
    if (partitions === undefined) {
      if (paused) this.topics.add(topic)
      else this.topics.delete(topic)
      if (!paused)
        for (const key of [...this.partitions]) if (key.startsWith(`${topic}:`)) this.partitions.delete(key)
      return
    }
    for (const p of partitions) {
      if (paused) this.partitions.add(slotOf(topic, p))
      else this.partitions.delete(slotOf(topic, p))
    }
  }
}

/** The group member id librdkafka holds (a malloc'd copy, freed here). */
export function memberIdOf(client: NativeClient): string | undefined {
  const lib = rd()
  const id = lib.rd_kafka_memberid(client.handle)
  if (id === null) return undefined
  try {
    return new CString(id).toString() || undefined
  } finally {
    lib.rd_kafka_mem_free(client.handle, id)
  }
}

type Report = (error: unknown, context: ConsumerErrorContext) => void

/** Moves the fetch positions back (asynchronously: librdkafka applies the seek on its own threads). */
export function seekTo(
  client: NativeClient,
  positions: { topic: string; partition: number; offset: bigint }[],
  report: Report,
): void {
  if (positions.length === 0) return
  const lib = rd()
  const failed = takeError(
    withPartitionList(positions, (list) => lib.rd_kafka_seek_partitions(client.handle, list, 0)),
  )
  if (failed !== null) report(toKafkaError(failed, 'seek'), { stage: 'consumer' })
}

/**
 * Graceful leave, bounded by `deadline`: the commits still in flight land first, then the member leaves
 * the group through `rd_kafka_consumer_close_queue` (non-blocking; its final revoke arrives as a
 * rebalance event on the queue and is answered like any other) until librdkafka says it is closed.
 */
export async function leaveGroup(
  client: NativeClient,
  pendingCommits: () => number,
  deadline: number,
  report: Report,
): Promise<void> {
  const lib = rd()
  while (pendingCommits() > 0 && Date.now() < deadline) await Bun.sleep(20)
  const failed = takeError(lib.rd_kafka_consumer_close_queue(client.handle, client.queue))
  if (failed !== null) report(toKafkaError(failed, 'consumer close'), { stage: 'consumer' })
  while (lib.rd_kafka_consumer_closed(client.handle) === 0 && Date.now() < deadline) {
    client.pump()
    await Bun.sleep(20)
  }
}

/** Incremental (cooperative) assign or unassign; false, reported, when librdkafka refuses it. */
export function changeAssignment(
  client: NativeClient,
  partitions: TopicPartition[],
  change: 'assign' | 'unassign',
  report: Report,
): boolean {
  const lib = rd()
  const error = takeError(
    withPartitionList(partitions, (list) =>
      change === 'assign'
        ? lib.rd_kafka_incremental_assign(client.handle, list)
        : lib.rd_kafka_incremental_unassign(client.handle, list),
    ),
  )
  if (error !== null) report(toKafkaError(error, `incremental ${change}`), { stage: 'consumer' })
  return error === null
}

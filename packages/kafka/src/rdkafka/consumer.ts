import { CString, type Pointer } from 'bun:ffi'
import { KafkaError, KafkaUsageError } from '../errors'
import type { Consumer, ConsumerErrorContext, ConsumerOptions } from '../types'
import { describeTopicLayouts } from './admin-ops'
import { baseSettings, createNativeClient, EVENT, type NativeClient } from './client'
import { createLaneRunner, type Fetched, type Handling, type Lane, newLane, Sleepers, slotOf } from './lanes'
import { rd } from './library'
import { messageError, toConsumedMessage } from './message'
import { ERR, kafkaErrorOf, readPartitionList, takeError, toKafkaError, withPartitionList } from './native'

/** Test hook (not exported from the package): a failure of the consumer as a whole, as a dead session. */
export const kInjectRdFailure = Symbol('injectRdFailure')

const DEFAULTS = {
  retryBackoffMs: 1_000,
  sessionTimeoutMs: 30_000,
  maxBufferedMessages: 1_000,
  maxBatchSize: 500,
}
const PING_TIMEOUT_MS = 1_500
/** Errors librdkafka reports and recovers from by itself (a broker connection dropped, and so on). */
const SELF_HEALING = new Set<number>([ERR.TRANSPORT, ERR.PARTITION_EOF, -181 /* _RESOLVE: DNS */])

type TopicPartition = { topic: string; partition: number }

/**
 * Group consumer over librdkafka. Rebalancing is cooperative-sticky (incremental): when a member joins
 * or leaves, only the partitions that move stop; the others keep their lanes and in-flight handlers,
 * and a moving partition is given up only after its running handler finished and its offset was
 * committed, so a rebalance re-delivers nothing. (Eager rebalancing would stop every partition of every
 * member at each change and re-deliver whatever was in a handler.)
 */
export function createRdConsumer(
  options: ConsumerOptions,
): Consumer & { [kInjectRdFailure](error: Error): void; readonly memberId: string | undefined } {
  if (options.readCommitted !== true) throw new KafkaUsageError('consumers must read committed records only')
  if (options.brokers.length === 0) throw new KafkaUsageError('createConsumer: brokers is empty')
  if (options.topics.length === 0) throw new KafkaUsageError('createConsumer: topics is empty')
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULTS.retryBackoffMs
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs
  const maxBuffered = options.maxBufferedMessages ?? DEFAULTS.maxBufferedMessages
  const lib = rd()

  const report = (error: unknown, context: ConsumerErrorContext): void => {
    const typed = error instanceof KafkaError ? error : new KafkaError(String(error), { cause: error })
    try {
      options.onError?.(typed, context)
    } catch {
      // A failing error reporter must not take the consumer down with it.
    }
  }

  const lanes = new Map<string, Lane>()
  const assigned = new Set<string>()
  const pausedTopics = new Set<string>()
  const pausedPartitions = new Set<string>()
  const sleepers = new Sleepers()
  const commits = new Map<number, { lane: Lane; last: Fetched }>()
  let nextCommit = 1
  let client: NativeClient | undefined
  let handling: Handling | undefined
  let buffered = 0
  let backpressured = false
  let closing = false
  let closed: Promise<void> | undefined
  let fatal: KafkaError | undefined

  const userPaused = (topic: string, partition: number) =>
    pausedTopics.has(topic) || pausedPartitions.has(slotOf(topic, partition))
  const runner = createLaneRunner(
    {
      handling: () => handling,
      closing: () => closing,
      isPaused: (lane) => userPaused(lane.topic, lane.partition),
      retryBackoffMs,
      maxBatch: Math.max(1, options.maxBatchSize ?? DEFAULTS.maxBatchSize),
      finished: (lane, last, count) => {
        release(count)
        commit(lane, last)
      },
      report,
    },
    sleepers,
  )

  /** Pauses or resumes fetching of partitions in librdkafka (the lanes check pauses themselves). */
  function setFetching(partitions: TopicPartition[], fetching: boolean): void {
    if (client === undefined || partitions.length === 0) return
    const handle = client.handle
    withPartitionList(partitions, (list) =>
      fetching ? lib.rd_kafka_resume_partitions(handle, list) : lib.rd_kafka_pause_partitions(handle, list),
    )
  }
  const assignedList = (): TopicPartition[] =>
    [...assigned].map((slot) => {
      const at = slot.lastIndexOf(':')
      return { topic: slot.slice(0, at), partition: Number(slot.slice(at + 1)) }
    })

  function release(count: number): void {
    buffered -= count
    if (backpressured && !closing && buffered <= maxBuffered / 2) {
      backpressured = false
      setFetching(
        assignedList().filter((p) => !userPaused(p.topic, p.partition)),
        true,
      )
    }
  }

  /** Commits the offset after `last`; a refused commit is retried after the back-off while it is the newest. */
  function commit(lane: Lane, last: Fetched): void {
    if (client === undefined || !assigned.has(slotOf(lane.topic, lane.partition))) return
    const id = nextCommit++
    commits.set(id, { lane, last })
    const code = withPartitionList(
      [{ topic: lane.topic, partition: lane.partition, offset: BigInt(last.offset) + 1n }],
      (list) =>
        lib.rd_kafka_commit_queue(
          (client as NativeClient).handle,
          list,
          (client as NativeClient).queue,
          null,
          id as unknown as Pointer,
        ),
    )
    if (code !== ERR.NO_ERROR) onCommitted(id, code)
  }

  function onCommitted(id: number, code: number): void {
    const entry = commits.get(id)
    commits.delete(id)
    if (entry === undefined || code === ERR.NO_ERROR) return
    const { lane, last } = entry
    report(kafkaErrorOf(code, `commit of ${lane.topic}/${lane.partition}@${last.offset}`), {
      stage: 'commit',
      topic: lane.topic,
      partition: lane.partition,
      offset: last.offset,
    })
    const newest = () =>
      ![...commits.values()].some((c) => c.lane === lane && BigInt(c.last.offset) > BigInt(last.offset))
    void sleepers.sleep(retryBackoffMs).then(() => {
      if (!closing && newest() && lanes.get(slotOf(lane.topic, lane.partition)) === lane) commit(lane, last)
    })
  }

  function dispatch(message: Fetched): void {
    const slot = slotOf(message.topic, message.partition)
    // Late data of a partition this member no longer owns: its new owner reads it from the commit.
    if (closing || !assigned.has(slot)) return
    let lane = lanes.get(slot)
    if (lane === undefined) {
      lane = newLane(message.topic, message.partition)
      lanes.set(slot, lane)
    }
    const offset = BigInt(message.offset)
    if (offset <= lane.highest) return
    lane.highest = offset
    lane.queue.push(message)
    buffered++
    if (buffered >= maxBuffered && !backpressured) {
      backpressured = true
      setFetching(assignedList(), false)
    }
    runner.kick(lane)
  }

  /** Stops a lane; its queued messages are forgotten (uncommitted: fetched again from the commit). */
  function dropLane(lane: Lane): void {
    lane.revoked = true
    release(lane.queue.length)
    lane.queue = []
    lanes.delete(slotOf(lane.topic, lane.partition))
  }

  function onAssign(partitions: TopicPartition[]): void {
    if (client === undefined) return
    const handle = client.handle
    const error = takeError(
      withPartitionList(partitions, (list) => lib.rd_kafka_incremental_assign(handle, list)),
    )
    if (error !== null) {
      report(toKafkaError(error, 'incremental assign'), { stage: 'consumer' })
      return
    }
    for (const p of partitions) assigned.add(slotOf(p.topic, p.partition))
    const paused = partitions.filter((p) => backpressured || userPaused(p.topic, p.partition))
    setFetching(paused, false)
  }

  /**
   * Partitions taken away: unless the assignment was lost (the member is no longer in the group), the
   * running handlers finish and commit first (bounded by the session timeout), then they are released.
   */
  async function onRevoke(partitions: TopicPartition[], lost: boolean): Promise<void> {
    const current = client
    const leaving = partitions
      .map((p) => lanes.get(slotOf(p.topic, p.partition)))
      .filter((l) => l !== undefined)
    for (const lane of leaving) {
      lane.revoked = true
      release(lane.queue.length)
      lane.queue = []
    }
    sleepers.wakeAll()
    if (!lost) {
      const running = leaving.map((l) => l.worker).filter((w) => w !== undefined)
      await Promise.race([Promise.allSettled(running), Bun.sleep(sessionTimeoutMs / 2)])
    }
    for (const p of partitions) assigned.delete(slotOf(p.topic, p.partition))
    for (const lane of leaving)
      if (lanes.get(slotOf(lane.topic, lane.partition)) === lane)
        lanes.delete(slotOf(lane.topic, lane.partition))
    if (current === undefined || current.closed) return
    const error = takeError(
      withPartitionList(partitions, (list) => lib.rd_kafka_incremental_unassign(current.handle, list)),
    )
    if (error !== null) report(toKafkaError(error, 'incremental unassign'), { stage: 'consumer' })
  }

  function onEvent(type: number, event: Pointer): void {
    if (type === EVENT.FETCH) {
      for (;;) {
        const message = lib.rd_kafka_event_message_next(event)
        if (message === null) return
        const err = messageError(message)
        if (err === ERR.NO_ERROR) dispatch(toConsumedMessage(message))
        else if (!SELF_HEALING.has(err)) report(kafkaErrorOf(err, 'fetch'), { stage: 'consumer' })
      }
    }
    if (type === EVENT.REBALANCE) {
      const code = lib.rd_kafka_event_error(event)
      const partitions = readPartitionList(lib.rd_kafka_event_topic_partition_list(event))
      if (code === ERR.ASSIGN_PARTITIONS) onAssign(partitions)
      else void onRevoke(partitions, lib.rd_kafka_assignment_lost((client as NativeClient).handle) !== 0)
    }
    if (type === EVENT.OFFSET_COMMIT) {
      const id = Number(lib.rd_kafka_event_opaque(event) ?? 0)
      let code = lib.rd_kafka_event_error(event)
      for (const p of readPartitionList(lib.rd_kafka_event_topic_partition_list(event)))
        if (p.err !== 0) code = p.err
      onCommitted(id, code)
    }
  }

  function start(next: Handling): Promise<void> {
    if (handling !== undefined)
      return Promise.reject(new KafkaUsageError('run() was already called on this consumer'))
    if (closing) return Promise.reject(new KafkaUsageError('consumer is closed'))
    handling = next
    try {
      client = createNativeClient({
        kind: 'consumer',
        settings: {
          ...baseSettings(options.brokers, options.clientId),
          'group.id': options.groupId,
          'isolation.level': 'read_committed',
          'enable.auto.commit': 'false',
          'enable.auto.offset.store': 'false',
          'auto.offset.reset': options.fromBeginning ? 'earliest' : 'latest',
          'partition.assignment.strategy': 'cooperative-sticky',
          'session.timeout.ms': String(sessionTimeoutMs),
          'heartbeat.interval.ms': String(Math.max(500, Math.floor(sessionTimeoutMs / 10))),
          // Membership follows heartbeats (librdkafka's threads), not how long a handler takes: the
          // module holds fetched messages itself and polls only when woken.
          'max.poll.interval.ms': '86400000',
          // Prefetch bounded for memory: the module's own buffer is maxBufferedMessages.
          'queued.max.messages.kbytes': '8192',
          'fetch.wait.max.ms': '100',
        },
        events: EVENT.FETCH | EVENT.REBALANCE | EVENT.OFFSET_COMMIT,
        onEvent,
        onError: (error, isFatal, code) => {
          if (SELF_HEALING.has(code)) return
          if (isFatal) fatal = error
          report(error, { stage: 'consumer' })
        },
      })
      const handle = client.handle
      const code = withPartitionList(
        options.topics.map((topic) => ({ topic, partition: -1 })),
        (list) => lib.rd_kafka_subscribe(handle, list),
      )
      if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, `subscribe to ${options.topics.join(', ')}`)
    } catch (error) {
      handling = undefined
      void client?.close()
      client = undefined
      return Promise.reject(error)
    }
    return Promise.resolve()
  }

  function setPaused(topic: string, partitions: readonly number[] | undefined, paused: boolean): void {
    const targets =
      partitions ??
      assignedList()
        .filter((p) => p.topic === topic)
        .map((p) => p.partition)
    if (partitions === undefined) {
      if (paused) pausedTopics.add(topic)
      else pausedTopics.delete(topic)
      if (!paused)
        for (const key of [...pausedPartitions]) if (key.startsWith(`${topic}:`)) pausedPartitions.delete(key)
    } else {
      for (const p of partitions) {
        if (paused) pausedPartitions.add(slotOf(topic, p))
        else pausedPartitions.delete(slotOf(topic, p))
      }
    }
    const affected = targets
      .map((partition) => ({ topic, partition }))
      .filter((p) => assigned.has(slotOf(p.topic, p.partition)))
    if (paused) {
      setFetching(affected, false)
      sleepers.wakeAll()
    } else {
      if (!backpressured)
        setFetching(
          affected.filter((p) => !userPaused(p.topic, p.partition)),
          true,
        )
      for (const lane of lanes.values()) runner.kick(lane)
    }
  }

  /**
   * A failure of the consumer as a whole: every lane is dropped and each partition is read again from
   * its first unfinished message, on the same member (librdkafka keeps the group membership).
   */
  function restartFromCommitted(error: Error): void {
    if (client === undefined || closing) return
    const stoppedAt = Date.now()
    fatal = kafkaErrorOf(-150, `consumer of group ${options.groupId} stopped`, error.message)
    report(fatal, { stage: 'consumer' })
    const rewind: { topic: string; partition: number; offset: bigint }[] = []
    for (const lane of [...lanes.values()]) {
      const first = lane.queue[0]
      if (first !== undefined)
        rewind.push({ topic: lane.topic, partition: lane.partition, offset: BigInt(first.offset) })
      dropLane(lane)
    }
    const handle = client.handle
    if (rewind.length > 0) {
      const failed = takeError(
        withPartitionList(rewind, (list) => lib.rd_kafka_seek_partitions(handle, list, 0)),
      )
      if (failed !== null) report(toKafkaError(failed, 'seek'), { stage: 'consumer' })
    }
    fatal = undefined
    options.onRecovered?.({ stoppedMs: Date.now() - stoppedAt, sameMember: true })
  }

  return {
    run: (handle) => start({ kind: 'message', handle }),
    runBatches: (handle) => start({ kind: 'batch', handle }),
    get memberId() {
      if (client === undefined) return undefined
      const id = lib.rd_kafka_memberid(client.handle)
      if (id === null) return undefined
      try {
        return new CString(id).toString() || undefined
      } finally {
        lib.rd_kafka_mem_free(client.handle, id)
      }
    },
    pause: (topic, partitions) => setPaused(topic, partitions, true),
    resume: (topic, partitions) => setPaused(topic, partitions, false),
    async ping() {
      if (fatal !== undefined) throw fatal
      if (client === undefined) throw new KafkaUsageError('consumer is not running')
      await describeTopicLayouts(client, options.topics, PING_TIMEOUT_MS)
    },
    close() {
      closed ??= closeConsumer()
      return closed
    },
    [kInjectRdFailure]: restartFromCommitted,
  }

  async function closeConsumer(): Promise<void> {
    closing = true
    sleepers.wakeAll()
    // Finish what is in the handler now (its commit is sent); queued messages stay for the next owner.
    await Promise.allSettled([...lanes.values()].map((lane) => lane.worker))
    const current = client
    if (current === undefined) return
    const deadline = Date.now() + sessionTimeoutMs
    while (commits.size > 0 && Date.now() < deadline) await Bun.sleep(20)
    // Leaving the group: the final revoke comes as a rebalance event and is answered by onRevoke.
    const failed = takeError(lib.rd_kafka_consumer_close_queue(current.handle, current.queue))
    if (failed !== null) report(toKafkaError(failed, 'consumer close'), { stage: 'consumer' })
    while (lib.rd_kafka_consumer_closed(current.handle) === 0 && Date.now() < deadline) {
      current.pump()
      await Bun.sleep(20)
    }
    client = undefined
    await current.close()
  }
}

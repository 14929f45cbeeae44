import type { Pointer } from 'bun:ffi'
import { type KafkaError, KafkaUsageError } from '../errors'
import type { Consumer, ConsumerOptions } from '../types'
import { describeTopicLayouts } from './admin-ops'
import { createNativeClient, EVENT, type NativeClient } from './client'
import { localLag } from './consumer-lag'
import {
  changeAssignment,
  consumerSettings,
  createCommitter,
  CONSUMER_DEFAULTS as DEFAULTS,
  JOIN_WAIT_MS,
  kInjectRdFailure,
  leaveGroup,
  memberIdOf,
  PING_TIMEOUT_MS,
  partitionsOf,
  reporterFor,
  SELF_HEALING,
  seekTo,
  setFetchingOf,
  type TopicPartition,
  UserPauses,
} from './consumer-support'
import { createLaneRunner, type Fetched, type Handling, type Lane, newLane, Sleepers, slotOf } from './lanes'
import { rd } from './library'
import { messageError, type TopicNames, toConsumedMessage } from './message'
import { ERR, kafkaErrorOf, readPartitionList, withPartitionList } from './native'

/**
 * Group consumer over librdkafka, cooperative-sticky (incremental) rebalancing: when a member joins or
 * leaves, only the partitions that move stop; a moving partition is released only after its running
 * handler finished and committed, so a rebalance re-delivers nothing. (Eager rebalancing would stop
 * every partition of every member at each change and re-deliver whatever was in a handler.)
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
  const report = reporterFor(options)
  const [lanes, topicNames]: [Map<string, Lane>, TopicNames] = [new Map(), new Map()]
  const assigned = new Set<string>()
  const pauses = new UserPauses()
  const sleepers = new Sleepers()
  let client: NativeClient | undefined
  let handling: Handling | undefined
  let buffered = 0
  let backpressured = false
  let closing = false
  let closed: Promise<void> | undefined
  let fatal: KafkaError | undefined
  /** Resolved by the first assignment: `run` returns once the member is in the group. */
  let joined: () => void = () => {}

  const userPaused = (topic: string, partition: number) => pauses.has(topic, partition)
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

  const setFetching = (partitions: TopicPartition[], fetching: boolean) =>
    setFetchingOf(client, partitions, fetching)
  const assignedList = () => partitionsOf(assigned)

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

  const committer = createCommitter({
    client: () => client,
    owns: (lane) => assigned.has(slotOf(lane.topic, lane.partition)),
    current: (lane) => !closing && lanes.get(slotOf(lane.topic, lane.partition)) === lane,
    report,
    sleepers,
    retryBackoffMs,
  })
  const commit = committer.commit

  function dispatch(message: Fetched): void {
    const slot = slotOf(message.topic, message.partition)
    // Late data of a partition this member no longer owns: its new owner reads it from the commit.
    if (closing || !assigned.has(slot)) return
    let lane = lanes.get(slot)
    if (lane === undefined) {
      lane = newLane(message.topic, message.partition)
      lanes.set(slot, lane)
    }
    const offset = Number(message.offset)
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
    if (!changeAssignment(client, partitions, 'assign', report)) return
    for (const p of partitions) assigned.add(slotOf(p.topic, p.partition))
    joined()
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
    changeAssignment(current, partitions, 'unassign', report)
  }

  function onEvent(type: number, event: Pointer): void {
    if (type === EVENT.FETCH) {
      // A fetch event taken with rd_kafka_queue_poll carries exactly one message.
      const message = lib.rd_kafka_event_message_next(event)
      if (message === null) return
      const err = messageError(message)
      if (err === ERR.NO_ERROR) dispatch(toConsumedMessage(message, topicNames))
      else if (!SELF_HEALING.has(err)) report(kafkaErrorOf(err, 'fetch'), { stage: 'consumer' })
      return
    }
    if (type === EVENT.REBALANCE) {
      const code = lib.rd_kafka_event_error(event)
      const partitions = readPartitionList(lib.rd_kafka_event_topic_partition_list(event))
      if (code === ERR.ASSIGN_PARTITIONS) onAssign(partitions)
      else void onRevoke(partitions, lib.rd_kafka_assignment_lost((client as NativeClient).handle) !== 0)
    }
    if (type === EVENT.OFFSET_COMMIT) committer.onResult(event)
  }

  function start(next: Handling): Promise<void> {
    if (handling !== undefined)
      return Promise.reject(new KafkaUsageError('run() was already called on this consumer'))
    if (closing) return Promise.reject(new KafkaUsageError('consumer is closed'))
    handling = next
    try {
      client = createNativeClient({
        kind: 'consumer',
        settings: consumerSettings(options, sessionTimeoutMs),
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
    // Running = in the group with its first assignment; bounded (a member without partitions is never told).
    const assignedOnce = new Promise<void>((resolve) => {
      joined = resolve
    })
    return Promise.race([assignedOnce, Bun.sleep(Math.min(sessionTimeoutMs, JOIN_WAIT_MS))])
  }

  function setPaused(topic: string, partitions: readonly number[] | undefined, paused: boolean): void {
    const targets =
      partitions ??
      assignedList()
        .filter((p) => p.topic === topic)
        .map((p) => p.partition)
    pauses.set(topic, partitions, paused)
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
    seekTo(client, rewind, report)
    fatal = undefined
    options.onRecovered?.({ stoppedMs: Date.now() - stoppedAt, sameMember: true })
  }

  return {
    run: (handle) => start({ kind: 'message', handle }),
    runBatches: (handle) => start({ kind: 'batch', handle }),
    get memberId() {
      return client === undefined ? undefined : memberIdOf(client)
    },
    lag: () => localLag(client, assignedList(), (t, p) => committer.committedOf(lanes.get(slotOf(t, p)))),
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
    await leaveGroup(current, committer.pending, Date.now() + sessionTimeoutMs, report)
    client = undefined
    await current.close()
  }
}

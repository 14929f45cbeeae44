/**
 * Group consumer over librdkafka, cooperative-sticky (incremental) rebalancing: when a member joins or
 * leaves, only the partitions that move stop; a moving partition is released only after its running
 * handler finished and committed, so a rebalance re-delivers nothing. (Eager rebalancing would stop
 * every partition of every member at each change and re-deliver whatever was in a handler.)
 *
 * This module owns the consumer's life: start (client, subscription, first join), recovery after a dead
 * session, and close. Dispatch and backpressure are in consumer-flow.ts, queue events and rebalances in
 * consumer-rebalance.ts, the shared state in consumer-state.ts.
 */
import { KafkaUsageError } from '../errors'
import type { Consumer, ConsumerOptions } from '../types'
import { describeTopicLayouts } from './admin-ops'
import { createNativeClient, EVENT } from './client'
import { assignedList, dispatch, dropLane, setPaused } from './consumer-flow'
import { localLag } from './consumer-lag'
import { onEvent, onNativeMessage } from './consumer-rebalance'
import { type ConsumerState, createConsumerState } from './consumer-state'
import {
  consumerSettings,
  JOIN_WAIT_MS,
  kInjectRdFailure,
  leaveGroup,
  memberIdOf,
  PING_TIMEOUT_MS,
  SELF_HEALING,
  seekTo,
} from './consumer-support'
import { drainFetched } from './fetch-drain'
import { type Handling, slotOf } from './lanes'
import { ERR, kafkaErrorOf, withPartitionList } from './native'

export function createRdConsumer(
  options: ConsumerOptions,
): Consumer & { [kInjectRdFailure](error: Error): void; readonly memberId: string | undefined } {
  if (options.readCommitted !== true) throw new KafkaUsageError('consumers must read committed records only')
  if (options.brokers.length === 0) throw new KafkaUsageError('createConsumer: brokers is empty')
  if (options.topics.length === 0) throw new KafkaUsageError('createConsumer: topics is empty')
  const state = createConsumerState(options)
  return {
    run: (handle) => start(state, { kind: 'message', handle }),
    runBatches: (handle) => start(state, { kind: 'batch', handle }),
    get memberId() {
      return state.client === undefined ? undefined : memberIdOf(state.client)
    },
    lag: () =>
      localLag(state.client, assignedList(state), (t, p) =>
        state.committer.committedOf(state.lanes.get(slotOf(t, p))),
      ),
    pause: (topic, partitions) => setPaused(state, topic, partitions, true),
    resume: (topic, partitions) => setPaused(state, topic, partitions, false),
    async ping() {
      if (state.fatal !== undefined) throw state.fatal
      if (state.client === undefined) throw new KafkaUsageError('consumer is not running')
      await describeTopicLayouts(state.client, options.topics, PING_TIMEOUT_MS)
    },
    async ownership() {
      if (state.client === undefined) throw new KafkaUsageError('consumer is not running')
      // Read before the round trip: a change meanwhile makes the answer say "changed", never hide one.
      const changes = state.assignmentChanges
      const owned = state.assigned.size
      const layouts = await describeTopicLayouts(state.client, options.topics, PING_TIMEOUT_MS)
      const total = layouts.reduce((sum, layout) => sum + (layout.partitions?.length ?? 0), 0)
      return { owned, total, changes }
    },
    close() {
      state.closed ??= closeConsumer(state)
      return state.closed
    },
    [kInjectRdFailure]: (error) => restartFromCommitted(state, error),
  }
}

/** Creates the client and subscribes; resolves once the member has its first assignment (bounded). */
function start(state: ConsumerState, next: Handling): Promise<void> {
  if (state.handling !== undefined)
    return Promise.reject(new KafkaUsageError('run() was already called on this consumer'))
  if (state.closing) return Promise.reject(new KafkaUsageError('consumer is closed'))
  const { options, lib } = state
  state.handling = next
  try {
    state.client = createNativeClient({
      kind: 'consumer',
      settings: consumerSettings(options, state.sessionTimeoutMs),
      events: EVENT.FETCH | EVENT.REBALANCE | EVENT.OFFSET_COMMIT,
      onEvent: (type, event) => onEvent(state, type, event),
      drain: (queue, max, serve) =>
        drainFetched(queue, max, {
          topicNames: state.topicNames,
          message: (message) => dispatch(state, message),
          nativeMessage: (message) => onNativeMessage(state, message),
          event: serve,
        }),
      onError: (error, isFatal, code) => {
        if (SELF_HEALING.has(code)) return
        if (isFatal) state.fatal = error
        state.report(error, { stage: 'consumer' })
      },
    })
    const handle = state.client.handle
    const code = withPartitionList(
      options.topics.map((topic) => ({ topic, partition: -1 })),
      (list) => lib.rd_kafka_subscribe(handle, list),
    )
    if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, `subscribe to ${options.topics.join(', ')}`)
  } catch (error) {
    state.handling = undefined
    void state.client?.close()
    state.client = undefined
    return Promise.reject(error)
  }
  // Running = in the group with its first assignment; bounded (a member without partitions is never told).
  const assignedOnce = new Promise<void>((resolve) => {
    state.joined = resolve
  })
  return Promise.race([assignedOnce, Bun.sleep(Math.min(state.sessionTimeoutMs, JOIN_WAIT_MS))])
}

/**
 * A failure of the consumer as a whole: every lane is dropped and each partition is read again from
 * its first unfinished message, on the same member (librdkafka keeps the group membership).
 */
function restartFromCommitted(state: ConsumerState, error: Error): void {
  if (state.client === undefined || state.closing) return
  const stoppedAt = Date.now()
  state.fatal = kafkaErrorOf(-150, `consumer of group ${state.options.groupId} stopped`, error.message)
  state.report(state.fatal, { stage: 'consumer' })
  const rewind: { topic: string; partition: number; offset: bigint }[] = []
  for (const lane of [...state.lanes.values()]) {
    const first = lane.queue[0]
    if (first !== undefined)
      rewind.push({ topic: lane.topic, partition: lane.partition, offset: BigInt(first.offset) })
    dropLane(state, lane)
  }
  seekTo(state.client, rewind, state.report)
  state.fatal = undefined
  state.options.onRecovered?.({ stoppedMs: Date.now() - stoppedAt, sameMember: true })
}

async function closeConsumer(state: ConsumerState): Promise<void> {
  state.closing = true
  state.sleepers.wakeAll()
  // Finish what is in the handler now (its commit is sent); queued messages stay for the next owner.
  await Promise.allSettled([...state.lanes.values()].map((lane) => lane.worker))
  const current = state.client
  if (current === undefined) return
  await leaveGroup(current, state.committer.pending, Date.now() + state.sessionTimeoutMs, state.report)
  state.client = undefined
  await current.close()
}

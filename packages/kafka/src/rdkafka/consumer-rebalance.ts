/**
 * Events of the librdkafka consumer's queue (consumer.ts): fetched messages to their lanes, assignment
 * and revocation (cooperative: only the partitions that move stop, each after its running handler
 * finished and committed), and commit results to the committer.
 */
import type { Pointer } from 'bun:ffi'
import { EVENT, type NativeClient } from './client'
import { dispatch, release, setFetching, userPaused } from './consumer-flow'
import type { ConsumerState } from './consumer-state'
import { changeAssignment, SELF_HEALING, type TopicPartition } from './consumer-support'
import { slotOf } from './lanes'
import { messageError, toConsumedMessage } from './message'
import { ERR, kafkaErrorOf, readPartitionList } from './native'

function onAssign(state: ConsumerState, partitions: TopicPartition[]): void {
  if (state.client === undefined) return
  if (!changeAssignment(state.client, partitions, 'assign', state.report)) return
  for (const p of partitions) state.assigned.add(slotOf(p.topic, p.partition))
  state.assignmentChanges++
  state.joined()
  const paused = partitions.filter((p) => state.backpressured || userPaused(state, p.topic, p.partition))
  setFetching(state, paused, false)
}

/**
 * Partitions taken away: unless the assignment was lost (the member is no longer in the group), the
 * running handlers finish and commit first (bounded by the session timeout), then they are released.
 */
export async function onRevoke(
  state: ConsumerState,
  partitions: TopicPartition[],
  lost: boolean,
): Promise<void> {
  const current = state.client
  const leaving = partitions
    .map((p) => state.lanes.get(slotOf(p.topic, p.partition)))
    .filter((l) => l !== undefined)
  for (const lane of leaving) {
    lane.revoked = true
    release(state, lane.queue.length)
    lane.queue = []
  }
  state.sleepers.wakeAll()
  if (!lost) {
    const running = leaving.map((l) => l.worker).filter((w) => w !== undefined)
    await Promise.race([Promise.allSettled(running), Bun.sleep(state.sessionTimeoutMs / 2)])
  }
  for (const p of partitions) state.assigned.delete(slotOf(p.topic, p.partition))
  state.assignmentChanges++
  for (const lane of leaving)
    if (state.lanes.get(slotOf(lane.topic, lane.partition)) === lane)
      state.lanes.delete(slotOf(lane.topic, lane.partition))
  if (current === undefined || current.closed) return
  changeAssignment(current, partitions, 'unassign', state.report)
}

/** A fetched message still in librdkafka's memory: copied and dispatched, or its error reported. */
export function onNativeMessage(state: ConsumerState, message: Pointer): void {
  const err = messageError(message)
  if (err === ERR.NO_ERROR) dispatch(state, toConsumedMessage(message, state.topicNames))
  else if (!SELF_HEALING.has(err)) state.report(kafkaErrorOf(err, 'fetch'), { stage: 'consumer' })
}

/** One event taken from the consumer's queue. */
export function onEvent(state: ConsumerState, type: number, event: Pointer): void {
  const lib = state.lib
  if (type === EVENT.FETCH) {
    // A fetch event taken with rd_kafka_queue_poll carries exactly one message.
    const message = lib.rd_kafka_event_message_next(event)
    if (message !== null) onNativeMessage(state, message)
    return
  }
  if (type === EVENT.REBALANCE) {
    const code = lib.rd_kafka_event_error(event)
    const partitions = readPartitionList(lib.rd_kafka_event_topic_partition_list(event))
    if (code === ERR.ASSIGN_PARTITIONS) onAssign(state, partitions)
    else
      void onRevoke(
        state,
        partitions,
        lib.rd_kafka_assignment_lost((state.client as NativeClient).handle) !== 0,
      )
  }
  if (type === EVENT.OFFSET_COMMIT) state.committer.onResult(event)
}

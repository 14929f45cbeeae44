/**
 * Lane dispatch and backpressure of the librdkafka consumer (consumer.ts): fetched messages go to their
 * partition's lane; fetching stops for every partition when too many wait and resumes at half; user
 * pauses stop a partition's fetching and its lane; a lane taken away forgets what it had queued.
 */
import type { ConsumerState } from './consumer-state'
import { partitionsOf, setFetchingOf, type TopicPartition } from './consumer-support'
import { type Fetched, type Lane, newLane, slotOf } from './lanes'

export const userPaused = (state: ConsumerState, topic: string, partition: number) =>
  state.pauses.has(topic, partition)

export const setFetching = (state: ConsumerState, partitions: TopicPartition[], fetching: boolean) =>
  setFetchingOf(state.client, partitions, fetching)

export const assignedList = (state: ConsumerState) => partitionsOf(state.assigned)

/** `count` messages left the buffer (finished or dropped): below half the limit, fetching resumes. */
export function release(state: ConsumerState, count: number): void {
  state.buffered -= count
  if (state.backpressured && !state.closing && state.buffered <= state.maxBuffered / 2) {
    state.backpressured = false
    setFetching(
      state,
      assignedList(state).filter((p) => !userPaused(state, p.topic, p.partition)),
      true,
    )
  }
}

export function dispatch(state: ConsumerState, message: Fetched): void {
  const slot = slotOf(message.topic, message.partition)
  // Late data of a partition this member no longer owns: its new owner reads it from the commit.
  if (state.closing || !state.assigned.has(slot)) return
  let lane = state.lanes.get(slot)
  if (lane === undefined) {
    lane = newLane(message.topic, message.partition)
    state.lanes.set(slot, lane)
  }
  // Still assigned, but being given up (its running handler finishes first). librdkafka pauses every
  // assigned partition when it announces a rebalance, so nothing should arrive here; should anything,
  // it is not queued, so not counted: a lane that never runs again would hold its count for good, and
  // enough of that keeps the consumer backpressured. The next owner reads it from the committed offset.
  if (lane.revoked) return
  const offset = Number(message.offset)
  if (offset <= lane.highest) return
  lane.highest = offset
  lane.queue.push(message)
  state.buffered++
  if (state.buffered >= state.maxBuffered && !state.backpressured) {
    state.backpressured = true
    setFetching(state, assignedList(state), false)
  }
  state.runner.kick(lane)
}

/** Stops a lane; its queued messages are forgotten (uncommitted: fetched again from the commit). */
export function dropLane(state: ConsumerState, lane: Lane): void {
  lane.revoked = true
  release(state, lane.queue.length)
  lane.queue = []
  state.lanes.delete(slotOf(lane.topic, lane.partition))
}

/** The user's pause/resume of a topic's partitions (all of its assigned ones when none are named). */
export function setPaused(
  state: ConsumerState,
  topic: string,
  partitions: readonly number[] | undefined,
  paused: boolean,
): void {
  const targets =
    partitions ??
    assignedList(state)
      .filter((p) => p.topic === topic)
      .map((p) => p.partition)
  state.pauses.set(topic, partitions, paused)
  const affected = targets
    .map((partition) => ({ topic, partition }))
    .filter((p) => state.assigned.has(slotOf(p.topic, p.partition)))
  if (paused) {
    setFetching(state, affected, false)
    state.sleepers.wakeAll()
  } else {
    if (!state.backpressured)
      setFetching(
        state,
        affected.filter((p) => !userPaused(state, p.topic, p.partition)),
        true,
      )
    for (const lane of state.lanes.values()) state.runner.kick(lane)
  }
}

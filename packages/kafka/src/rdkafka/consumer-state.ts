/**
 * The state of one librdkafka group consumer (consumer.ts), shared by its parts: the lanes and the
 * partitions this member owns, the buffer count behind backpressure, the user's pauses, the native
 * client once running, and the lane runner and committer wired to that state.
 */
import type { KafkaError } from '../errors'
import type { ConsumerErrorContext, ConsumerOptions } from '../types'
import type { NativeClient } from './client'
import { release } from './consumer-flow'
import { createCommitter, CONSUMER_DEFAULTS as DEFAULTS, reporterFor, UserPauses } from './consumer-support'
import { createLaneRunner, type Handling, type Lane, Sleepers, slotOf } from './lanes'
import { rd } from './library'
import type { TopicNames } from './message'

export interface ConsumerState {
  readonly options: ConsumerOptions
  readonly retryBackoffMs: number
  readonly sessionTimeoutMs: number
  readonly maxBuffered: number
  readonly lib: ReturnType<typeof rd>
  readonly report: (error: unknown, context: ConsumerErrorContext) => void
  readonly lanes: Map<string, Lane>
  readonly topicNames: TopicNames
  /** Slots (`topic:partition`) of the partitions assigned to this member. */
  readonly assigned: Set<string>
  /** Assignments and revocations so far (`Consumer.ownership`). */
  assignmentChanges: number
  readonly pauses: UserPauses
  readonly sleepers: Sleepers
  readonly runner: ReturnType<typeof createLaneRunner>
  readonly committer: ReturnType<typeof createCommitter>
  client: NativeClient | undefined
  handling: Handling | undefined
  /** Messages fetched and not yet finished or dropped, over all lanes. */
  buffered: number
  /** Fetching is stopped for every partition because `buffered` reached the limit. */
  backpressured: boolean
  closing: boolean
  closed: Promise<void> | undefined
  fatal: KafkaError | undefined
  /** Resolved by the first assignment: `run` returns once the member is in the group. */
  joined: () => void
}

/** A consumer's state before `run`: no client yet, nothing assigned. */
export function createConsumerState(options: ConsumerOptions): ConsumerState {
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULTS.retryBackoffMs
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs
  const maxBuffered = options.maxBufferedMessages ?? DEFAULTS.maxBufferedMessages
  const lib = rd()
  const report = reporterFor(options)
  const sleepers = new Sleepers()
  const pauses = new UserPauses()
  // The runner and committer call back into the state, which is complete before they are first used.
  const state = {
    options,
    retryBackoffMs,
    sessionTimeoutMs,
    maxBuffered,
    lib,
    report,
    lanes: new Map<string, Lane>(),
    topicNames: new Map() as TopicNames,
    assigned: new Set<string>(),
    assignmentChanges: 0,
    pauses,
    sleepers,
    client: undefined,
    handling: undefined,
    buffered: 0,
    backpressured: false,
    closing: false,
    closed: undefined,
    fatal: undefined,
    joined: () => {},
  } as Omit<ConsumerState, 'runner' | 'committer'> as ConsumerState
  const runner = createLaneRunner(
    {
      handling: () => state.handling,
      closing: () => state.closing,
      isPaused: (lane) => pauses.has(lane.topic, lane.partition),
      retryBackoffMs,
      maxBatch: Math.max(1, options.maxBatchSize ?? DEFAULTS.maxBatchSize),
      finished: (lane, last, count) => {
        release(state, count)
        committer.commit(lane, last)
      },
      report,
    },
    sleepers,
  )
  const committer = createCommitter({
    client: () => state.client,
    owns: (lane) => state.assigned.has(slotOf(lane.topic, lane.partition)),
    current: (lane) => !state.closing && state.lanes.get(slotOf(lane.topic, lane.partition)) === lane,
    report,
    sleepers,
    retryBackoffMs,
  })
  return Object.assign(state, { runner, committer })
}

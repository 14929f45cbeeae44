import {
  FetchIsolationLevels,
  Consumer as LibraryConsumer,
  type Message as LibraryMessage,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { kafkaEngine } from './engine'
import { KafkaError, KafkaUsageError } from './errors'
import { createRdConsumer, kInjectRdFailure } from './rdkafka/consumer'
import type {
  BatchHandler,
  ConsumedMessage,
  Consumer,
  ConsumerErrorContext,
  ConsumerOptions,
  MessageHandler,
} from './types'

type RawMessage = LibraryMessage<Buffer, Buffer, Buffer, Buffer>

/** Test hook (not exported from the package): makes the current fetch stream fail, as a dead broker does. */
export const kInjectStreamError = Symbol('injectStreamError')

/** Fetched messages of one assigned partition, handled one at a time (or one batch at a time) in offset order. */
interface PartitionLane {
  topic: string
  partition: number
  queue: RawMessage[]
  /** Highest offset ever queued here: a re-fetch after a rebalance re-sends older ones, which are dropped. */
  highest: bigint
  worker: Promise<void> | undefined
  revoked: boolean
  /** The newest message whose offset this lane asked to commit (a failed commit of it is retried). */
  lastCommit: RawMessage | undefined
}

/** What `run` or `runBatches` installed. */
type Handling = { kind: 'message'; handle: MessageHandler } | { kind: 'batch'; handle: BatchHandler }

const DEFAULTS = {
  retryBackoffMs: 1_000,
  sessionTimeoutMs: 30_000,
  maxBufferedMessages: 1_000,
  maxBatchSize: 500,
}

/**
 * Attempts to open a new fetch stream on the same client (same member id: the group rebalances at once)
 * before the client is replaced by a new one, which first leaves the group.
 */
const SAME_MEMBER_ATTEMPTS = 3

/**
 * Back-off of the library's retries. A fetch whose leader was just killed keeps failing until the
 * controller has moved the partition (the brokers' ZooKeeper session, 6 s here, plus the election);
 * the library ends the whole fetch stream when its retries run out. So fetches wait 0.5+1+2+3+4 s in
 * all, longer than a failover, and each retry reads fresh metadata (the new leader). Joining the
 * group, committing and reading offsets get the same room: the group's coordinator moves with a
 * broker's death and again when the broker is back (preferred leaders), answering NOT_COORDINATOR
 * meanwhile (seen failing a join after 6 tries in 3 s). Lookups nested in those
 * (metadata, finding the coordinator) keep the short fixed delay, so nested retries do not multiply into
 * minutes against an unreachable cluster.
 */
const PATIENT_OPERATIONS = new Set([
  'fetch',
  'joinGroup',
  'syncGroup',
  'commit',
  'listCommits',
  'listOffsets',
])
function retryDelay(_client: unknown, operationId: string, attempt: number): number {
  if (!PATIENT_OPERATIONS.has(operationId)) return 500
  return [500, 1_000, 2_000, 3_000][attempt - 1] ?? 4_000
}

function toConsumed(raw: RawMessage, attempt: number): ConsumedMessage {
  return {
    topic: raw.topic,
    partition: raw.partition,
    offset: raw.offset.toString(),
    key: raw.key === undefined ? null : raw.key.toString('utf8'),
    value: raw.value ?? Buffer.alloc(0),
    headers: headersOf(raw),
    timestamp: Number(raw.timestamp),
    attempt,
  }
}

function headersOf(raw: RawMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [k, v] of raw.headers) headers[k.toString('utf8')] = v.toString('utf8')
  return headers
}

/**
 * Group consumer on top of the library's fetch stream, with its autocommit off. Why not the stream
 * alone: it hands out messages of all partitions in one sequence and commits whatever was fetched when
 * autocommit is on. Here every partition gets a lane that runs the handler for one message at a time and
 * commits that message's offset only after the handler resolved (known-traps #3); heartbeats run on the
 * library's timers, so a slow handler does not cost the group membership (known-traps #4).
 */
export function createConsumer(
  options: ConsumerOptions,
): Consumer & { [kInjectStreamError](error: Error): void; readonly memberId: string | undefined } {
  if (kafkaEngine() === 'librdkafka') {
    const consumer = createRdConsumer(options)
    return Object.assign(consumer, {
      [kInjectStreamError]: (error: Error) => consumer[kInjectRdFailure](error),
    })
  }
  if (options.readCommitted !== true) throw new KafkaUsageError('consumers must read committed records only')
  if (options.brokers.length === 0) throw new KafkaUsageError('createConsumer: brokers is empty')
  if (options.topics.length === 0) throw new KafkaUsageError('createConsumer: topics is empty')
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULTS.retryBackoffMs
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs
  const maxBuffered = options.maxBufferedMessages ?? DEFAULTS.maxBufferedMessages
  const maxBatch = Math.max(1, options.maxBatchSize ?? DEFAULTS.maxBatchSize)
  const report = (error: unknown, context: ConsumerErrorContext): void => {
    const typed = error instanceof KafkaError ? error : toKafkaError(error, `consumer ${context.stage}`)
    try {
      options.onError?.(typed, context)
    } catch {
      // A failing error reporter must not take the consumer down with it.
    }
  }

  const heartbeatInterval = Math.max(500, Math.floor(sessionTimeoutMs / 10))
  const newClient = () =>
    new LibraryConsumer({
      clientId: options.clientId,
      groupId: options.groupId,
      bootstrapBrokers: [...options.brokers],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval,
      rebalanceTimeout: sessionTimeoutMs * 2,
      maxWaitTime: 500,
      timeout: 10_000,
      retries: 5,
      retryDelay,
    })

  const lanes = new Map<string, PartitionLane>()
  const pausedTopics = new Set<string>()
  const pausedPartitions = new Set<string>()
  const pendingCommits = new Set<Promise<void>>()
  const sleepers = new Set<() => void>()
  /**
   * One library consumer (one group member) and its fetch stream. The library gives a stream up for
   * good after its fetch retries run out (a broker away for longer than a failover); a new stream is
   * then opened on the same member, or, if that keeps failing, on a new member (see recover()).
   */
  interface Session {
    client: LibraryConsumer<Buffer, Buffer, Buffer, Buffer>
    stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer>
  }
  let session: Session | undefined
  /** Handlers still running for lanes that were dropped; a new lane of the slot waits for them. */
  const draining = new Map<string, Promise<void>>()
  let handling: Handling | undefined
  let buffered = 0
  let backpressured = false
  let closing = false
  let closed: Promise<void> | undefined
  let fatal: KafkaError | undefined

  const slot = (topic: string, partition: number) => `${topic}:${partition}`
  const isPaused = (lane: PartitionLane) =>
    pausedTopics.has(lane.topic) || pausedPartitions.has(slot(lane.topic, lane.partition))
  const isAssigned = (topic: string, partition: number) =>
    session?.client.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      sleepers.add(wake)
    })
  }

  function release(count: number): void {
    buffered -= count
    if (backpressured && !closing && buffered <= maxBuffered / 2) {
      backpressured = false
      session?.stream?.resume()
    }
  }

  /**
   * Commits the offset after `raw`. A refused commit (coordinator moving after a broker died) stays
   * queued in the library but is sent again only with the next commit request; a partition with
   * nothing more to hand out would keep its last offset uncommitted, so the lane's newest offset is
   * committed again after the back-off until it lands or a newer one supersedes it.
   */
  function commit(lane: PartitionLane, raw: RawMessage): void {
    lane.lastCommit = raw
    const context = {
      stage: 'commit' as const,
      topic: raw.topic,
      partition: raw.partition,
      offset: raw.offset.toString(),
    }
    const retryLater = async (error: unknown) => {
      report(error, context)
      await sleep(retryBackoffMs)
      if (
        !closing &&
        !lane.revoked &&
        lane.lastCommit === raw &&
        lanes.get(slot(raw.topic, raw.partition)) === lane
      )
        commit(lane, raw)
    }
    let pending: Promise<void>
    try {
      pending = Promise.resolve(raw.commit()).catch(retryLater)
    } catch (error) {
      report(error, context)
      return
    }
    pendingCommits.add(pending)
    void pending.finally(() => pendingCommits.delete(pending))
  }

  async function work(lane: PartitionLane): Promise<void> {
    // The same partition's previous lane may still be in its handler (dropped by a rebalance or a
    // session restart): never run two handlers of one partition at once.
    const key = slot(lane.topic, lane.partition)
    const previous = draining.get(key)
    if (previous !== undefined) {
      await previous
      if (draining.get(key) === previous) draining.delete(key)
    }
    while (!closing && !lane.revoked && !isPaused(lane)) {
      const first = lane.queue[0]
      if (first === undefined || handling === undefined) return
      // A batch handler gets everything waiting for the partition (bounded); a message handler one.
      const taken = handling.kind === 'batch' ? lane.queue.slice(0, maxBatch) : [first]
      const last = taken[taken.length - 1] ?? first
      let attempt = 1
      for (;;) {
        try {
          if (handling.kind === 'batch') {
            const messages = taken.map((raw) => toConsumed(raw, attempt))
            await handling.handle({ topic: first.topic, partition: first.partition, messages, attempt })
          } else {
            await handling.handle(toConsumed(first, attempt))
          }
          break
        } catch (error) {
          report(error, {
            stage: 'handler',
            topic: first.topic,
            partition: first.partition,
            offset: first.offset.toString(),
            attempt,
          })
          // Not committed and not dropped: the same messages come back, here or in the next owner.
          if (closing || lane.revoked || isPaused(lane)) return
          await sleep(retryBackoffMs)
          if (closing || lane.revoked || isPaused(lane)) return
          attempt++
        }
      }
      if (lane.queue[0] === first) {
        lane.queue.splice(0, taken.length)
        release(taken.length)
      }
      // A dropped lane's session or generation is gone: its commit cannot land, and the partition's
      // next owner starts from the last commit anyway (at-least-once; handlers are idempotent).
      if (!lane.revoked) commit(lane, last)
    }
  }

  function kick(lane: PartitionLane): void {
    if (lane.worker !== undefined || closing || lane.revoked || isPaused(lane) || lane.queue.length === 0)
      return
    lane.worker = work(lane)
      .catch((error: unknown) =>
        report(error, { stage: 'consumer', topic: lane.topic, partition: lane.partition }),
      )
      .finally(() => {
        lane.worker = undefined
        kick(lane)
      })
  }

  function dispatch(
    from: Session,
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
    raw: RawMessage,
  ): void {
    if (closing || from !== session || stream !== from.stream) return
    // Late data of a partition this member no longer owns: its new owner reads it from the commit.
    if (!isAssigned(raw.topic, raw.partition)) return
    const key = slot(raw.topic, raw.partition)
    let lane = lanes.get(key)
    if (lane === undefined) {
      lane = {
        topic: raw.topic,
        partition: raw.partition,
        queue: [],
        highest: -1n,
        worker: undefined,
        revoked: false,
        lastCommit: undefined,
      }
      lanes.set(key, lane)
    }
    if (raw.offset <= lane.highest) return
    lane.highest = raw.offset
    lane.queue.push(raw)
    buffered++
    if (buffered >= maxBuffered && !backpressured) {
      backpressured = true
      session?.stream?.pause()
    }
    kick(lane)
  }

  function dropLane(key: string, lane: PartitionLane): void {
    lane.revoked = true
    if (lane.worker !== undefined) draining.set(key, lane.worker)
    release(lane.queue.length)
    lane.queue = []
    lanes.delete(key)
  }

  /** After a rebalance: lanes of partitions taken away stop, their queued messages are forgotten. */
  function pruneRevoked(): void {
    for (const [key, lane] of lanes) if (!isAssigned(lane.topic, lane.partition)) dropLane(key, lane)
  }

  function newSession(): Session {
    const next: Session = { client: newClient() }
    session = next
    next.client.on('consumer:group:join', () => {
      if (session === next) pruneRevoked()
    })
    return next
  }

  /**
   * Opens a fetch stream on the session's member. On a member that already consumed, the library
   * joins the group again with the same member id first, so the group rebalances at once instead of
   * waiting for a departed member's session to expire.
   */
  async function openStream(current: Session): Promise<void> {
    const stream = await current.client.consume({
      topics: [...options.topics],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: options.fromBeginning
        ? MessagesStreamFallbackModes.EARLIEST
        : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval,
      maxWaitTime: 500,
    })
    if (closing || session !== current) {
      await stream.close().catch(() => {})
      throw new KafkaUsageError('consumer is closed')
    }
    current.stream = stream
    stream.on('data', (raw: RawMessage) => dispatch(current, stream, raw))
    stream.on('error', (error: unknown) => void recover(current, stream, error))
  }

  async function startSession(): Promise<void> {
    await openStream(newSession())
  }

  /**
   * Closes a session without waiting on brokers that may be gone. Not graceful (the member is being
   * replaced): leave the group first through whichever broker coordinates it now (the library's close
   * alone only uses an already open connection to the old coordinator, which may be the dead broker),
   * so the new member's join does not wait for this member's session to expire.
   */
  async function endSession(old: Session | undefined, graceful: boolean): Promise<void> {
    if (old === undefined) return
    const stream = old.stream
    const steps = (async () => {
      if (stream !== undefined && !stream.destroyed) await stream.close().catch(() => {})
      if (!graceful) {
        // Callback form: the promise overload is shadowed by the callback one in the library's types.
        await new Promise<void>((resolve) => old.client.leaveGroup(true, () => resolve()))
      }
      // Graceful: leave the group, so the partitions move to the other members at once.
      await old.client.close(!graceful).catch((error: unknown) => report(error, { stage: 'consumer' }))
    })()
    await Promise.race([steps, Bun.sleep(graceful ? sessionTimeoutMs : 10_000)])
  }

  /** Resolves once the stream has closed (its topics are then untracked by the client), or after `ms`. */
  function closedOrAfter(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, ms: number): Promise<void> {
    if (stream.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        stream.off('close', done)
        resolve()
      }
      stream.once('close', done)
    })
  }

  /**
   * The fetch stream died. Drop every lane (their messages are not committed, so the next stream gets
   * them again from the last commit) and open a new stream with growing back-off until it works or
   * close() is called: first on the same member (it keeps its membership, heartbeats run on their own
   * timers), then on a new member after leaving the group. Meanwhile ping() reports the error, so
   * readiness says not ready.
   */
  async function recover(
    failed: Session,
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
    error: unknown,
  ): Promise<void> {
    if (session !== failed || failed.stream !== stream || closing) return
    const stoppedAt = Date.now()
    fatal = toKafkaError(error, `consumer of group ${options.groupId} stopped`)
    report(fatal, { stage: 'consumer' })
    failed.stream = undefined
    for (const [key, lane] of [...lanes]) dropLane(key, lane)
    buffered = 0
    backpressured = false
    await closedOrAfter(stream, 5_000)
    let current: Session = failed
    let delay = 250
    for (let attempt = 1; !closing; attempt++) {
      const sameMember = attempt <= SAME_MEMBER_ATTEMPTS
      try {
        if (!sameMember) {
          await endSession(current, false)
          if (closing) return
          current = newSession()
        }
        await openStream(current)
        fatal = undefined
        try {
          options.onRecovered?.({ stoppedMs: Date.now() - stoppedAt, sameMember })
        } catch {
          // A failing observer must not undo the recovery.
        }
        return
      } catch (restartError) {
        if (closing) return
        fatal = toKafkaError(restartError, `consumer of group ${options.groupId} could not restart`)
        report(fatal, { stage: 'consumer' })
        await sleep(delay)
        delay = Math.min(delay * 2, 30_000)
      }
    }
  }

  function setPaused(topic: string, partitions: readonly number[] | undefined, paused: boolean): void {
    if (partitions === undefined) {
      if (paused) pausedTopics.add(topic)
      else pausedTopics.delete(topic)
      if (!paused)
        for (const key of [...pausedPartitions]) if (key.startsWith(`${topic}:`)) pausedPartitions.delete(key)
    } else {
      for (const p of partitions) {
        if (paused) pausedPartitions.add(slot(topic, p))
        else pausedPartitions.delete(slot(topic, p))
      }
    }
    if (paused) for (const wake of [...sleepers]) wake()
    else for (const lane of lanes.values()) kick(lane)
  }

  async function start(next: Handling): Promise<void> {
    if (handling !== undefined) throw new KafkaUsageError('run() was already called on this consumer')
    if (closing) throw new KafkaUsageError('consumer is closed')
    handling = next
    try {
      await startSession()
    } catch (error) {
      const broken = session
      session = undefined
      await endSession(broken, false)
      handling = undefined
      throw toKafkaError(error, `consumer of group ${options.groupId} could not start`)
    }
  }

  return {
    run: (handle) => start({ kind: 'message', handle }),
    runBatches: (handle) => start({ kind: 'batch', handle }),

    get memberId() {
      return session?.client.memberId ?? undefined
    },

    pause: (topic, partitions) => setPaused(topic, partitions, true),
    resume: (topic, partitions) => setPaused(topic, partitions, false),

    async ping() {
      if (fatal !== undefined) throw fatal
      const current = session
      if (current === undefined) throw new KafkaUsageError('consumer is not running')
      try {
        await current.client.metadata({ topics: [...options.topics], forceUpdate: true, retries: 0 })
      } catch (error) {
        throw toKafkaError(error, 'consumer ping')
      }
    },

    close() {
      closed ??= (async () => {
        closing = true
        session?.stream?.pause()
        for (const wake of [...sleepers]) wake()
        // Finish what is in the handler now; queued messages stay uncommitted for the next owner.
        await Promise.allSettled([...[...lanes.values()].map((lane) => lane.worker), ...draining.values()])
        // Bounded: a commit stuck on a dying connection must not keep the process from exiting.
        await Promise.race([Promise.allSettled([...pendingCommits]), Bun.sleep(sessionTimeoutMs)])
        await endSession(session, true)
        session = undefined
      })()
      return closed
    },

    [kInjectStreamError](error: Error) {
      session?.stream?.destroy(error)
    },
  }
}

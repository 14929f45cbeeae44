/**
 * The projection's work on what one fetch returned for one partition: decode every message → write the
 * decodable events as one batch → resolve (the Kafka module then commits the batch's last offset once).
 *
 * - A message that can never be decoded (not the wire format, unknown schema id, breaks the contract) is
 *   a poison pill: it goes to `<topic>.dlq` with the reason, on its own, and the rest of its batch is
 *   written, so the partition moves on without stalling.
 * - A decode failure that is not the message's fault (registry down) fails the whole batch before
 *   anything is dead-lettered or written: the Kafka module hands the same batch again after its backoff.
 * - When the database does not answer, the same batch is retried with exponential backoff until it is
 *   written; meanwhile the topic is paused so nothing more is fetched. The handler does not resolve
 *   before the write is acknowledged, so no offset past an unapplied message is ever committed.
 * - Batches of one partition arrive one at a time in offset order (Kafka module contract), and a
 *   vehicle's events share a partition (keyed by vehicle id): the store keeps the newest per vehicle.
 */
import type { BatchHandler, ConsumedBatch, ConsumedMessage, MessageHandler } from '@vehicles/kafka'
import type { ProcessedVehicle } from '../ads/model'
import type { BatchOutcome, UpsertOutcome } from '../ads/repository'

/** Why a message was dead-lettered: stable words for the `dlq-reason` header and the metric label. */
export type PoisonReason = 'wire-format' | 'unknown-schema' | 'contract-violation' | 'unprojectable'

export interface ProjectionLog {
  info(event: string, message: string, fields?: Record<string, unknown>): void
  warn(event: string, message: string, fields?: Record<string, unknown>): void
  error(event: string, message: string, fields?: Record<string, unknown>): void
}

export interface ProjectionMetrics {
  /** `delayMs`: from the record's Kafka timestamp (when the estimator produced it) to the write acknowledged. */
  upserted(outcome: UpsertOutcome, delayMs: number): void
  deadLettered(reason: PoisonReason): void
  storeRetried(): void
  /** The topic is paused while the database is away (1) or flowing (0). */
  paused(isPaused: boolean): void
}

export interface ProjectionDeps {
  decode(value: Buffer): Promise<ProcessedVehicle>
  /** A decode error that will never succeed → its reason; anything else (registry down) → undefined. */
  poisonReason(error: unknown): Exclude<PoisonReason, 'unprojectable'> | undefined
  /** Writes a batch; per event `applied`, `stale` or `rejected` (see AdsRepository.upsertMany). */
  store: { upsertMany(events: readonly ProcessedVehicle[]): Promise<BatchOutcome[]> }
  /**
   * Why the store rejected an event, when retrying cannot fix it (the event itself is unusable, e.g. a
   * date the version key cannot order) → true. Errors of the whole write (the database) are never
   * final: they are retried until the write succeeds.
   */
  isUnprojectable(error: unknown): boolean
  deadLetter(message: ConsumedMessage, reason: string): Promise<void>
  /** Stops and restarts fetching of the input topic. */
  flow: { pause(): void; resume(): void }
  log: ProjectionLog
  metrics: ProjectionMetrics
  backoff?: { initialMs: number; maxMs: number }
  /** Aborted at shutdown: a retry loop gives up by throwing, so nothing is committed for its message. */
  signal: AbortSignal
}

export const DEFAULT_BACKOFF = { initialMs: 200, maxMs: 5_000 }

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error)

/** Where a message came from, for logs. */
const origin = (m: ConsumedMessage) => ({
  topic: m.topic,
  partition: m.partition,
  offset: m.offset,
  key: m.key,
})

export interface ProjectionHandler {
  /** What the service runs: one batch of one partition (Kafka module `runBatches`). */
  readonly batch: BatchHandler
  /** The same work for one message (a batch of one). */
  readonly message: MessageHandler
  /** Batches currently waiting for the database (the topic is paused while > 0). */
  readonly blocked: number
}

type Decoded = { message: ConsumedMessage; event: ProcessedVehicle }

/**
 * The pause count shared by all partitions: they run concurrently, and the topic stays paused while any
 * of them waits for the database.
 */
function createPauseGate(deps: ProjectionDeps) {
  let blocked = 0
  return {
    get blocked() {
      return blocked
    },
    block(message: ConsumedMessage, error: unknown) {
      blocked++
      if (blocked === 1) {
        deps.flow.pause()
        deps.metrics.paused(true)
        deps.log.warn('projection.paused', 'database unavailable: consumption paused, retrying', {
          ...origin(message),
          error: describe(error),
        })
      }
    },
    unblock(message: ConsumedMessage, attempts: number) {
      blocked--
      if (blocked === 0) {
        deps.flow.resume()
        deps.metrics.paused(false)
        deps.log.info('projection.resumed', 'database answers again: consumption resumed', {
          ...origin(message),
          attempts,
        })
      }
    },
    /** Shutdown in the middle of a retry: the count drops without resuming (the consumer is closing). */
    release() {
      blocked--
    },
  }
}

type PauseGate = ReturnType<typeof createPauseGate>

async function deadLetter(
  deps: ProjectionDeps,
  message: ConsumedMessage,
  reason: PoisonReason,
  error: unknown,
) {
  const detail = `${reason}: ${describe(error)}`
  await deps.deadLetter(message, detail)
  deps.metrics.deadLettered(reason)
  deps.log.warn('projection.dead_lettered', 'message sent to the dead-letter topic', {
    ...origin(message),
    reason: detail,
  })
}

/**
 * Writes the batch until acknowledged; throws only at shutdown (then nothing of the batch is
 * committed). `first` names the batch in logs.
 */
async function writeUntilAcknowledged(
  deps: ProjectionDeps,
  gate: PauseGate,
  first: ConsumedMessage,
  events: ProcessedVehicle[],
): Promise<BatchOutcome[]> {
  const backoff = deps.backoff ?? DEFAULT_BACKOFF
  let delay = backoff.initialMs
  let isBlocked = false
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await deps.store.upsertMany(events)
        if (isBlocked) {
          isBlocked = false
          gate.unblock(first, attempt)
        }
        return outcomes
      } catch (error) {
        if (!isBlocked) {
          isBlocked = true
          gate.block(first, error)
        }
        deps.metrics.storeRetried()
        if (attempt % 10 === 0) {
          deps.log.warn('projection.retrying', 'database still unavailable', {
            ...origin(first),
            attempt,
            error: describe(error),
          })
        }
        if (deps.signal.aborted) throw error
        await sleep(delay, deps.signal)
        delay = Math.min(delay * 2, backoff.maxMs)
      }
    }
  } finally {
    if (isBlocked) gate.release()
  }
}

/** Decodes the batch; poison messages are dead-lettered, the rest returned in offset order. */
async function decodeOrDeadLetter(
  deps: ProjectionDeps,
  messages: readonly ConsumedMessage[],
): Promise<Decoded[]> {
  const decoded = await Promise.allSettled(messages.map((m) => deps.decode(m.value)))
  // Not poison (e.g. the registry is down): throw before anything is dead-lettered or written, so
  // the Kafka module hands the same batch again after its backoff and commits nothing.
  for (const result of decoded) {
    if (result.status === 'rejected' && deps.poisonReason(result.reason) === undefined) throw result.reason
  }
  const good: Decoded[] = []
  for (const [i, result] of decoded.entries()) {
    const message = messages[i]
    if (message === undefined) continue
    if (result.status === 'fulfilled') good.push({ message, event: result.value })
    else await deadLetter(deps, message, deps.poisonReason(result.reason) ?? 'wire-format', result.reason)
  }
  return good
}

/** Counts each written event in the metrics, dead-letters the unprojectable ones; returns how many were stale. */
async function recordOutcomes(
  deps: ProjectionDeps,
  good: Decoded[],
  outcomes: BatchOutcome[],
): Promise<number> {
  const writtenAt = Date.now()
  let stale = 0
  for (const [i, outcome] of outcomes.entries()) {
    const entry = good[i]
    if (entry === undefined) continue
    if (typeof outcome === 'object') {
      // The event cannot become an ad; anything else the store refused is retried with the batch.
      if (!deps.isUnprojectable(outcome.rejected)) throw outcome.rejected
      await deadLetter(deps, entry.message, 'unprojectable', outcome.rejected)
      continue
    }
    deps.metrics.upserted(outcome, writtenAt - entry.message.timestamp)
    if (outcome === 'stale') stale++
  }
  return stale
}

/** One line per batch, not per event: a replay of the topic is all stale. */
function logStale(
  deps: ProjectionDeps,
  messages: readonly ConsumedMessage[],
  first: ConsumedMessage,
  stale: number,
) {
  if (stale === 0) return
  deps.log.info(
    'projection.stale',
    `${stale} of ${messages.length} events: the ads already held them or newer ones`,
    {
      topic: first.topic,
      partition: first.partition,
      fromOffset: first.offset,
      toOffset: messages[messages.length - 1]?.offset,
      stale,
    },
  )
}

export function createProjectionHandler(deps: ProjectionDeps): ProjectionHandler {
  const gate = createPauseGate(deps)

  const batch = async ({ messages }: ConsumedBatch): Promise<void> => {
    const first = messages[0]
    if (first === undefined) return
    const good = await decodeOrDeadLetter(deps, messages)
    if (good.length === 0) return
    const outcomes = await writeUntilAcknowledged(
      deps,
      gate,
      first,
      good.map((g) => g.event),
    )
    logStale(deps, messages, first, await recordOutcomes(deps, good, outcomes))
  }

  const message = (m: ConsumedMessage) =>
    batch({ topic: m.topic, partition: m.partition, messages: [m], attempt: m.attempt })

  return {
    batch,
    message,
    get blocked() {
      return gate.blocked
    },
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

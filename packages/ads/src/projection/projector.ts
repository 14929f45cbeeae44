/**
 * The projection's per-message work: decode → upsert → resolve (the Kafka module then commits).
 *
 * - A message that can never be decoded (not the wire format, unknown schema id, breaks the contract) is
 *   a poison pill: it goes to `<topic>.dlq` with the reason, and the handler resolves so the partition
 *   moves on to the next, good message.
 * - When the database does not answer, the same event is retried with exponential backoff until it is
 *   written; meanwhile the topic is paused so nothing more is fetched. The handler does not resolve
 *   before the write is acknowledged, so no offset past an unapplied message is ever committed.
 * - Messages of one partition arrive one at a time in offset order (Kafka module contract), and a
 *   vehicle's events share a partition (keyed by vehicle id): writes for one key are serialised.
 */
import type { ConsumedMessage, MessageHandler } from '@vehicles/kafka'
import type { ProcessedVehicle } from '../ads/model'
import type { UpsertOutcome } from '../ads/repository'

/** Why a message was dead-lettered: stable words for the `dlq-reason` header and the metric label. */
export type PoisonReason = 'wire-format' | 'unknown-schema' | 'contract-violation' | 'unprojectable'

export interface ProjectionLog {
  info(event: string, message: string, fields?: Record<string, unknown>): void
  warn(event: string, message: string, fields?: Record<string, unknown>): void
  error(event: string, message: string, fields?: Record<string, unknown>): void
}

export interface ProjectionMetrics {
  upserted(outcome: UpsertOutcome): void
  deadLettered(reason: PoisonReason): void
  storeRetried(): void
  /** The topic is paused while the database is away (1) or flowing (0). */
  paused(isPaused: boolean): void
}

export interface ProjectionDeps {
  decode(value: Buffer): Promise<ProcessedVehicle>
  /** A decode error that will never succeed → its reason; anything else (registry down) → undefined. */
  poisonReason(error: unknown): Exclude<PoisonReason, 'unprojectable'> | undefined
  store: { upsert(event: ProcessedVehicle): Promise<UpsertOutcome> }
  /**
   * A store error that retrying cannot fix (the event itself is unusable, e.g. a date the version key
   * cannot order) → true. Database errors are never final: they are retried until the write succeeds.
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

export function createProjectionHandler(deps: ProjectionDeps): MessageHandler & { readonly blocked: number } {
  const backoff = deps.backoff ?? DEFAULT_BACKOFF
  // Partitions run concurrently; the topic stays paused while any of them waits for the database.
  let blocked = 0

  const block = (message: ConsumedMessage, error: unknown) => {
    blocked++
    if (blocked === 1) {
      deps.flow.pause()
      deps.metrics.paused(true)
      deps.log.warn('projection.paused', 'database unavailable: consumption paused, retrying', {
        ...origin(message),
        error: describe(error),
      })
    }
  }
  const unblock = (message: ConsumedMessage, attempts: number) => {
    blocked--
    if (blocked === 0) {
      deps.flow.resume()
      deps.metrics.paused(false)
      deps.log.info('projection.resumed', 'database answers again: consumption resumed', {
        ...origin(message),
        attempts,
      })
    }
  }

  const deadLetter = async (message: ConsumedMessage, reason: PoisonReason, error: unknown) => {
    const detail = `${reason}: ${describe(error)}`
    await deps.deadLetter(message, detail)
    deps.metrics.deadLettered(reason)
    deps.log.warn('projection.dead_lettered', 'message sent to the dead-letter topic', {
      ...origin(message),
      reason: detail,
    })
  }

  /** Writes until acknowledged; throws only at shutdown (then nothing is committed for this message). */
  const write = async (message: ConsumedMessage, event: ProcessedVehicle): Promise<UpsertOutcome | 'dlq'> => {
    let delay = backoff.initialMs
    let isBlocked = false
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await deps.store.upsert(event)
          if (isBlocked) {
            isBlocked = false
            unblock(message, attempt)
          }
          return outcome
        } catch (error) {
          if (deps.isUnprojectable(error)) {
            if (isBlocked) {
              isBlocked = false
              unblock(message, attempt)
            }
            await deadLetter(message, 'unprojectable', error)
            return 'dlq'
          }
          if (!isBlocked) {
            isBlocked = true
            block(message, error)
          }
          deps.metrics.storeRetried()
          if (attempt % 10 === 0) {
            deps.log.warn('projection.retrying', 'database still unavailable', {
              ...origin(message),
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
      // Shutdown in the middle of a retry: release the pause count (the consumer is closing anyway).
      if (isBlocked) blocked--
    }
  }

  const handler = async (message: ConsumedMessage): Promise<void> => {
    let event: ProcessedVehicle
    try {
      event = await deps.decode(message.value)
    } catch (error) {
      const reason = deps.poisonReason(error)
      // Not poison (e.g. the registry is down): throw, so the Kafka module hands the same message
      // again after its backoff and commits nothing.
      if (reason === undefined) throw error
      await deadLetter(message, reason, error)
      return
    }
    const outcome = await write(message, event)
    if (outcome === 'dlq') return
    deps.metrics.upserted(outcome)
    if (outcome === 'stale') {
      deps.log.info('projection.stale', 'the ad already holds this event or a newer one', {
        ...origin(message),
        vehicleId: event.vehicle.id,
        eventId: event.eventId,
      })
    }
  }

  return Object.defineProperty(handler, 'blocked', { get: () => blocked }) as MessageHandler & {
    readonly blocked: number
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

import { KafkaDeliveryError, KafkaError, KafkaTopicNotFoundError, KafkaUnavailableError } from './errors'

/**
 * Translates the client library's errors (nested AggregateErrors with `code`, `apiId`, `canRetry`)
 * into the module's typed errors. Kept apart so the rest of the module never inspects library errors.
 */

interface LibraryErrorFields {
  code?: unknown
  apiId?: unknown
  canRetry?: unknown
  errors?: unknown
  cause?: unknown
  message?: unknown
}

function* walk(error: unknown, depth = 0): Generator<LibraryErrorFields> {
  if (depth > 8 || error === null || typeof error !== 'object') return
  const fields = error as LibraryErrorFields
  yield fields
  if (Array.isArray(fields.errors)) for (const inner of fields.errors) yield* walk(inner, depth + 1)
  if (fields.cause !== undefined) yield* walk(fields.cause, depth + 1)
}

const UNAVAILABLE_API_IDS = new Set([
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR',
  'BROKER_NOT_AVAILABLE',
])

function describe(error: unknown): string {
  const parts: string[] = []
  for (const fields of walk(error)) {
    const id = typeof fields.apiId === 'string' ? `${fields.apiId}: ` : ''
    if (typeof fields.message === 'string' && fields.message.length > 0) parts.push(`${id}${fields.message}`)
  }
  return [...new Set(parts)].join(' <- ') || String(error)
}

/** What the failure was, classified. `topic` names the topic of the failed operation when there is one. */
export function toKafkaError(error: unknown, context: string, topic?: string): KafkaError {
  if (error instanceof KafkaError) return error
  let unavailable = false
  let retriable = false
  let unknownTopic: string | undefined
  for (const fields of walk(error)) {
    if (fields.code === 'PLT_KFK_NETWORK' || fields.code === 'PLT_KFK_TIMEOUT') unavailable = true
    if (typeof fields.apiId === 'string' && UNAVAILABLE_API_IDS.has(fields.apiId)) unavailable = true
    if (fields.canRetry === true) retriable = true
    if (fields.apiId === 'UNKNOWN_TOPIC_OR_PARTITION') unknownTopic = topic ?? 'unknown'
    if (typeof fields.message === 'string') {
      const match = /^Unknown topic (.+)\.$/.exec(fields.message)
      if (match?.[1] !== undefined) unknownTopic = match[1]
    }
  }
  const message = `${context}: ${describe(error)}`
  if (unknownTopic !== undefined) return new KafkaTopicNotFoundError(unknownTopic, error)
  if (unavailable) return new KafkaUnavailableError(message, error)
  if (topic !== undefined) return new KafkaDeliveryError(message, topic, { cause: error, retriable })
  return new KafkaError(message, { cause: error, retriable })
}

/** A newer producer epoch holds the transactional id (or the coordinator bumped it): never retriable. */
export function isFencedError(error: unknown): boolean {
  for (const fields of walk(error)) {
    if (fields.apiId === 'PRODUCER_FENCED' || fields.apiId === 'INVALID_PRODUCER_EPOCH') return true
  }
  return false
}

/** The transaction coordinator is still completing the previous transaction: answered at once, clears soon. */
export function isConcurrentTransactions(error: unknown): boolean {
  for (const fields of walk(error)) if (fields.apiId === 'CONCURRENT_TRANSACTIONS') return true
  return false
}

/**
 * Typed errors, so callers can tell "Kafka is away, back off and report not-ready" from "this record
 * is wrong" without parsing messages.
 */
export class KafkaError extends Error {
  override readonly name: string = 'KafkaError'
  /** True when retrying later may succeed (broker down, leader moving, timeout). */
  readonly retriable: boolean

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: options.cause })
    this.retriable = options.retriable ?? false
  }
}

/** No broker answered, the connection broke, or a request timed out: back off, report not-ready. */
export class KafkaUnavailableError extends KafkaError {
  override readonly name = 'KafkaUnavailableError'
  constructor(message: string, cause?: unknown) {
    super(message, { cause, retriable: true })
  }
}

/** A record was not acknowledged by acks=all (e.g. NOT_ENOUGH_REPLICAS, delivery timeout). */
export class KafkaDeliveryError extends KafkaError {
  override readonly name = 'KafkaDeliveryError'
  readonly topic: string
  constructor(message: string, topic: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options)
    this.topic = topic
  }
}

/** The topic does not exist (auto-create is off on the cluster). */
export class KafkaTopicNotFoundError extends KafkaError {
  override readonly name = 'KafkaTopicNotFoundError'
  readonly topic: string
  constructor(topic: string, cause?: unknown) {
    super(`topic ${topic} does not exist`, { cause, retriable: false })
    this.topic = topic
  }
}

/** The module was called wrongly (bad option, send before connect, run twice). */
export class KafkaUsageError extends KafkaError {
  override readonly name = 'KafkaUsageError'
}

/**
 * A newer producer with the same transactional id has been initialised (producer epoch bumped): this
 * producer is fenced for good. Its open transaction is aborted by the coordinator; it must not retry.
 */
export class KafkaFencedError extends KafkaError {
  override readonly name = 'KafkaFencedError'
  constructor(message: string, cause?: unknown) {
    super(message, { cause, retriable: false })
  }
}

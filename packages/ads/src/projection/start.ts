/**
 * Wires the projection to Kafka: a group consumer of the processed-event topic (read_committed, commit
 * after the handler), the contracts' decoder and a producer for the dead-letter topic.
 */
import { type Contracts, TOPICS } from '@vehicles/contracts'
import { type Consumer, createConsumer, type Producer, sendToDlq } from '@vehicles/kafka'
import type { AdsRepository } from '../ads/repository'
import { isUnprojectable, poisonReason } from './poison'
import { createProjectionHandler, type ProjectionLog, type ProjectionMetrics } from './projector'

export interface ProjectionOptions {
  brokers: readonly string[]
  clientId: string
  groupId: string
  /** Static membership (see the Kafka module's `groupInstanceId`); unset = dynamic. */
  groupInstanceId?: string
  /** `stock.vehicle-processed` in the system; tests use a topic of their own. */
  topic: string
  contracts: Contracts
  repository: Pick<AdsRepository, 'upsertMany'>
  /** Connected producer for `<topic>.dlq`. */
  producer: Producer
  log: ProjectionLog
  metrics: ProjectionMetrics
  backoff?: { initialMs: number; maxMs: number }
  /** Delay before the Kafka module hands a message whose handler threw (registry down) again. */
  retryBackoffMs?: number
}

export interface Projection {
  readonly consumer: Consumer
  /** Partitions currently waiting for the database (the topic is paused while > 0). */
  readonly blocked: number
  /** Stops fetching, abandons retry loops (their messages stay uncommitted), commits what finished. */
  stop(): Promise<void>
}

export async function startProjection(options: ProjectionOptions): Promise<Projection> {
  const { topic, log } = options
  const consumer = createConsumer({
    brokers: options.brokers,
    clientId: options.clientId,
    groupId: options.groupId,
    groupInstanceId: options.groupInstanceId,
    topics: [topic],
    readCommitted: true,
    // A new group reads the topic from its start: the read model is rebuilt from every event.
    fromBeginning: true,
    retryBackoffMs: options.retryBackoffMs ?? 1_000,
    onError: (error, context) =>
      log.warn('projection.consumer_error', error.message, { ...context, error: error.name }),
    onRecovered: ({ stoppedMs, sameMember }) =>
      log.info('projection.consumer_recovered', `fetching again after ${stoppedMs} ms`, {
        stoppedMs,
        sameMember,
      }),
  })
  const shutdown = new AbortController()
  const handler = createProjectionHandler({
    // The contract is bound under the processed-event topic whatever topic is read (see config).
    decode: (value) => options.contracts.decode(TOPICS.vehicleProcessed, value),
    poisonReason,
    store: options.repository,
    isUnprojectable,
    deadLetter: async (message, reason) => {
      await sendToDlq(options.producer, message, reason)
    },
    flow: { pause: () => consumer.pause(topic), resume: () => consumer.resume(topic) },
    log,
    metrics: options.metrics,
    backoff: options.backoff,
    signal: shutdown.signal,
  })
  try {
    // Batches: what a fetch returned for a partition is decoded, written with one bulk write and
    // committed once, instead of one round trip to the database and one commit per event.
    await consumer.runBatches(handler.batch)
  } catch (error) {
    // Not joined: release its connections, so a retry starts clean.
    await consumer.close().catch(() => undefined)
    throw error
  }
  log.info('projection.started', `consuming ${topic} as group ${options.groupId}`, {
    topic,
    groupId: options.groupId,
  })
  return {
    consumer,
    get blocked() {
      return handler.blocked
    },
    async stop() {
      shutdown.abort()
      await consumer.close()
      log.info('projection.stopped', 'consumer closed, finished offsets committed', { topic })
    },
  }
}

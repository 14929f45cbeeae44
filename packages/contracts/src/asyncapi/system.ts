/**
 * What the AsyncAPI document says about the system beyond the schemas: which service sends and receives
 * each topic, under which consumer group, with which record headers, and how each topic is configured.
 *
 * Topic settings come from the one topic definition (src/topics.ts). Service names, groups and headers are written here once; `asyncapi.test.ts` checks them
 * against the services' own configuration and code, so the document cannot drift from what runs.
 */
import { TOPICS } from '../topics'

export const SERVICES = {
  stock: 'vehicles-stock',
  estimator: 'price-estimate',
  ads: 'vehicles-ads',
} as const
export type ServiceName = (typeof SERVICES)[keyof typeof SERVICES]

/** The consumer group of each consuming service (its configuration default). */
export const CONSUMER_GROUPS = {
  [TOPICS.vehicleCreated]: SERVICES.estimator,
  [TOPICS.vehicleProcessed]: SERVICES.ads,
} as const

/** Record headers every event carries (UTF-8 values). */
export const EVENT_HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  contentType: 'content-type',
} as const

/**
 * Headers the stock's outbox relay adds to each created record: which outbox row it was sent for, and
 * which outbox (row ids are unique in one outbox only). Reading the topic back finds rows by them.
 */
export const RELAY_HEADERS = {
  outboxId: 'outbox-id',
  outbox: 'outbox',
} as const

/** Headers a dead letter adds to the original record's headers. */
export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
} as const

/** Which service sends each event topic, which one receives it, and who dead-letters what it cannot read. */
export const FLOWS = [
  { topic: TOPICS.vehicleCreated, sender: SERVICES.stock, receiver: SERVICES.estimator },
  { topic: TOPICS.vehicleProcessed, sender: SERVICES.estimator, receiver: SERVICES.ads },
] as const

/**
 * Writing an event to the outbox, in the same statement (hence the same transaction) as the state
 * change. The row stores the event as JSON; the relay encodes it with the registered schema id when it
 * sends it, so a registry outage never blocks a write.
 */

export interface OutboxEntry {
  eventId: string
  aggregateType: string
  aggregateId: string
  eventType: string
  topic: string
  /** Kafka record key: the aggregate id, so one vehicle's events share a partition. */
  key: string
  payload: unknown
  headers: Record<string, string>
}

export function outboxEntry(input: {
  topic: string
  aggregateType: string
  aggregateId: string
  eventId: string
  payload: unknown
}): OutboxEntry {
  return {
    eventId: input.eventId,
    aggregateType: input.aggregateType,
    aggregateId: input.aggregateId,
    eventType: input.topic,
    topic: input.topic,
    key: input.aggregateId,
    payload: input.payload,
    headers: { 'event-id': input.eventId, 'event-type': input.topic, 'content-type': 'application/json' },
  }
}

/** The channel the relay LISTENs on; the inserting statement NOTIFYs it, delivered at commit. */
export const OUTBOX_CHANNEL = 'outbox'

/**
 * A data-modifying CTE named `o` that enqueues `entry` for every row of CTE `source` (so nothing is
 * enqueued when the state change inserted nothing), plus its parameters from `$first` on.
 */
export function enqueueCte(source: string, first: number, entry: OutboxEntry) {
  const p = (i: number) => `$${first + i}`
  const text = `o as (
    insert into outbox (event_id, aggregate_type, aggregate_id, event_type, topic, key, payload, headers)
    select ${p(0)}::uuid, ${p(1)}, ${p(2)}::uuid, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::jsonb, ${p(7)}::jsonb from ${source}
    returning id
  )`
  const params = [
    entry.eventId,
    entry.aggregateType,
    entry.aggregateId,
    entry.eventType,
    entry.topic,
    entry.key,
    JSON.stringify(entry.payload),
    JSON.stringify(entry.headers),
  ]
  return { text, params }
}

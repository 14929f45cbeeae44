/**
 * The comparison of one run's books: per vehicle, where it is missing, where it appears more than once,
 * and whether it was priced twice.
 */
import type { ProcessedRecord, TopicRecord } from './topic-records'

export interface AdSummary {
  id: string
  priced: boolean
  price?: number
  eventId?: string
}

export interface Snapshot {
  postgres: string[]
  /** Vehicles without their outbox row, or outbox rows without their vehicle: must never happen. */
  halfWritten: string[]
  outboxPending: number
  created: TopicRecord[]
  processed: ProcessedRecord[]
  dlq: TopicRecord[]
  ads: AdSummary[]
}

export interface Reconciliation {
  /** Vehicles in PostgreSQL (the truth: each was committed with its event). */
  vehicles: number
  /** Acknowledged (201) ids missing from PostgreSQL. */
  unstored: string[]
  lost: { created: string[]; processed: string[]; ads: string[] }
  duplicated: { created: string[]; processed: string[] }
  /** Vehicles whose created event (same event id) is on the topic more than once. */
  redelivered: string[]
  unpriced: string[]
  /** Vehicles with two different prices, or two processed event ids, on the topic and in the ads. */
  repriced: string[]
  halfWritten: string[]
  dlq: number
}

/** The `event-id` header of a record as kcat prints headers (`name=value,name=value`). */
export function eventIdOf(record: TopicRecord): string {
  return (
    /(?:^|,)event-id=([^,]*)/.exec(record.headers)?.[1] ?? `no-event-id@${record.partition}/${record.offset}`
  )
}

/** vehicle id → event ids of its records (one entry per record), for the vehicles in `ids`. */
function eventsByVehicle(records: TopicRecord[], ids: Set<string>): Map<string, string[]> {
  const events = new Map<string, string[]>()
  for (const record of records) {
    if (!ids.has(record.key)) continue
    const list = events.get(record.key) ?? []
    list.push(eventIdOf(record))
    events.set(record.key, list)
  }
  return events
}

/**
 * Duplicates, told apart from redeliveries:
 * - created: a vehicle with two different event ids was published twice (duplicate); one event id on two
 *   records is the relay sending an event again after an unacknowledged attempt (redelivery: at-least-once,
 *   the event is the same one, consumers see its id twice);
 * - processed: the estimator prices each created record exactly once (Kafka transactions), so a vehicle
 *   with more processed records than created records was priced twice (duplicate).
 */
export function reconcile(acknowledged: Set<string>, snapshot: Snapshot): Reconciliation {
  const truth = new Set(snapshot.postgres)
  const created = eventsByVehicle(snapshot.created, truth)
  const processed = eventsByVehicle(snapshot.processed, truth)
  const ads = new Map(snapshot.ads.map((ad) => [ad.id, ad]))
  const ids = [...truth]
  return {
    vehicles: truth.size,
    unstored: [...acknowledged].filter((id) => !truth.has(id)),
    lost: {
      created: ids.filter((id) => !created.has(id)),
      processed: ids.filter((id) => !processed.has(id)),
      ads: ids.filter((id) => !ads.has(id)),
    },
    duplicated: {
      created: [...created].filter(([, events]) => new Set(events).size > 1).map(([id]) => id),
      processed: [...processed]
        .filter(([id, events]) => events.length > (created.get(id)?.length ?? 0))
        .map(([id]) => id),
    },
    redelivered: [...created].filter(([, events]) => new Set(events).size < events.length).map(([id]) => id),
    unpriced: ids.filter((id) => ads.has(id) && ads.get(id)?.priced !== true),
    repriced: repriced(snapshot.processed, snapshot.ads, truth),
    halfWritten: snapshot.halfWritten,
    dlq: snapshot.dlq.length,
  }
}

/**
 * Vehicles answered with more than one fact: two prices, or two processed event ids, among their records
 * on the processed topic and their ad. The same answer twice (same event id, same price: a created
 * record delivered twice) is not re-pricing; the duplicate count sees it.
 */
function repriced(processed: ProcessedRecord[], ads: AdSummary[], ids: Set<string>): string[] {
  const facts = new Map<string, { prices: Set<string>; events: Set<string> }>()
  const add = (id: string, price: number | undefined, eventId: string | undefined) => {
    if (!ids.has(id)) return
    const seen = facts.get(id) ?? { prices: new Set(), events: new Set() }
    seen.prices.add(price === undefined ? 'no price' : String(price))
    if (eventId !== undefined) seen.events.add(eventId.toLowerCase())
    facts.set(id, seen)
  }
  for (const record of processed) add(record.key, record.price, record.eventId)
  for (const ad of ads) add(ad.id, ad.price, ad.eventId)
  return [...facts].filter(([, seen]) => seen.prices.size > 1 || seen.events.size > 1).map(([id]) => id)
}

/** Distinct vehicles lost anywhere / duplicated anywhere. */
export function totals(result: Reconciliation): { lost: number; duplicated: number } {
  const lost = new Set([
    ...result.unstored,
    ...result.lost.created,
    ...result.lost.processed,
    ...result.lost.ads,
  ])
  const duplicated = new Set([...result.duplicated.created, ...result.duplicated.processed])
  return { lost: lost.size, duplicated: duplicated.size }
}

/** A short account of what went wrong, for assertion messages. */
export function describe(result: Reconciliation): string {
  const sample = (list: string[]) =>
    list.length === 0 ? '0' : `${list.length} (e.g. ${list.slice(0, 3).join(', ')})`
  return [
    `vehicles in PostgreSQL ${result.vehicles}`,
    `acknowledged but not stored ${sample(result.unstored)}`,
    `missing on created ${sample(result.lost.created)}`,
    `missing on processed ${sample(result.lost.processed)}`,
    `missing in ads ${sample(result.lost.ads)}`,
    `duplicated on created ${sample(result.duplicated.created)}`,
    `duplicated on processed ${sample(result.duplicated.processed)}`,
    `created event redelivered ${sample(result.redelivered)}`,
    `ads without a price ${sample(result.unpriced)}`,
    `re-priced ${sample(result.repriced)}`,
    `half-written ${sample(result.halfWritten)}`,
    `dead letters ${result.dlq}`,
  ].join('; ')
}

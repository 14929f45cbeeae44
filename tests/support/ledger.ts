/**
 * The books of one run: which vehicle ids exist in PostgreSQL, on the created and processed topics
 * (read_committed, only what was appended since the run started) and in the ads collection; and how many
 * dead letters arrived. A fault case ends with `reconcile`, which says, per vehicle, where it is missing
 * or appears more than once.
 *
 * Topics are the system's own and outlive runs, so the ledger marks their end offsets before the first
 * POST and reads only from there; records of other vehicles (none while the system lock is held, but
 * cheap to tolerate) are ignored by filtering on this run's ids.
 */
import { TOPICS } from '../../packages/contracts/src/topics'
import { clusterMetadata, kcat, MongoClient, postgres } from '../../packages/testing/src/index'
import type { System } from './system'

export const WATCHED = [
  TOPICS.vehicleCreated,
  TOPICS.vehicleProcessed,
  `${TOPICS.vehicleCreated}.dlq`,
  `${TOPICS.vehicleProcessed}.dlq`,
] as const
export type WatchedTopic = (typeof WATCHED)[number]

/** partition → first offset of this run. */
export type Marks = Map<number, number>

export interface TopicRecord {
  partition: number
  offset: number
  key: string
  headers: string
}

export async function endOffsets(brokers: string, topic: string): Promise<Marks> {
  const metadata = await clusterMetadata(brokers, topic)
  const partitions = metadata.topics.find((t) => t.topic === topic)?.partitions ?? []
  if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions in the metadata`)
  const args = ['-Q', '-b', brokers]
  for (const p of partitions) args.push('-t', `${topic}:${p.partition}:-1`)
  const result = await kcat(args, undefined, 30_000)
  if (result.code !== 0) throw new Error(`kcat -Q ${topic} failed: ${result.stderr.trim()}`)
  const marks: Marks = new Map()
  for (const line of result.stdout.split('\n')) {
    const match = /\[(\d+)\]\s+offset\s+(-?\d+)/.exec(line)
    if (match?.[1] !== undefined && match[2] !== undefined) marks.set(Number(match[1]), Number(match[2]))
  }
  if (marks.size !== partitions.length) {
    throw new Error(`kcat -Q ${topic}: expected ${partitions.length} partitions, got: ${result.stdout}`)
  }
  return marks
}

/**
 * Every committed record of `topic` from the marks to the current end (kcat stops at the last stable
 * offset: open transactions are not read, aborted ones are skipped).
 */
export async function readSince(brokers: string, topic: string, marks: Marks): Promise<TopicRecord[]> {
  const perPartition = await Promise.all(
    [...marks].map(async ([partition, from]) => {
      const result = await kcat(
        [
          '-C',
          '-b',
          brokers,
          '-t',
          topic,
          '-p',
          String(partition),
          '-o',
          String(from),
          '-e',
          '-q',
          '-X',
          'isolation.level=read_committed',
          '-f',
          '%p\t%o\t%k\t%h\n',
        ],
        undefined,
        60_000,
      )
      if (result.code !== 0) throw new Error(`kcat -C ${topic}/${partition} failed: ${result.stderr.trim()}`)
      return result.stdout
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line): TopicRecord => {
          const [p = '', o = '', key = '', ...headers] = line.split('\t')
          return { partition: Number(p), offset: Number(o), key, headers: headers.join('\t') }
        })
    }),
  )
  return perPartition.flat()
}

export interface AdSummary {
  id: string
  priced: boolean
}

export interface Snapshot {
  postgres: string[]
  /** Vehicles without their outbox row, or outbox rows without their vehicle: must never happen. */
  halfWritten: string[]
  outboxPending: number
  created: TopicRecord[]
  processed: TopicRecord[]
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
  halfWritten: string[]
  dlq: number
}

export class Ledger {
  private constructor(
    private readonly system: System,
    readonly marks: Map<WatchedTopic, Marks>,
  ) {}

  /** Marks the end of every watched topic: call before the first POST. */
  static async open(system: System): Promise<Ledger> {
    const marks = new Map<WatchedTopic, Marks>()
    for (const topic of WATCHED) marks.set(topic, await endOffsets(system.stack.KAFKA_BROKERS, topic))
    return new Ledger(system, marks)
  }

  private read(topic: WatchedTopic): Promise<TopicRecord[]> {
    const marks = this.marks.get(topic)
    if (marks === undefined) throw new Error(`no marks for ${topic}`)
    return readSince(this.system.stack.KAFKA_BROKERS, topic, marks)
  }

  async postgres(): Promise<{ ids: string[]; halfWritten: string[]; outboxPending: number }> {
    const sql = postgres(this.system.stockDatabaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 })
    try {
      const ids = await sql<{ id: string }[]>`select id::text as id from vehicles`
      const orphans = await sql<{ id: string }[]>`
        select v.id::text as id from vehicles v
          where not exists (select 1 from outbox o where o.aggregate_id = v.id)
        union all
        select o.aggregate_id::text from outbox o
          where not exists (select 1 from vehicles v where v.id = o.aggregate_id)`
      const [pending] = await sql<{ n: number }[]>`
        select count(*)::int as n from outbox where sent_at is null and failed_at is null`
      return {
        ids: ids.map((r) => r.id),
        halfWritten: orphans.map((r) => r.id),
        outboxPending: pending?.n ?? 0,
      }
    } finally {
      await sql.end()
    }
  }

  async ads(): Promise<AdSummary[]> {
    const client = new MongoClient(this.system.mongoUrl, { serverSelectionTimeoutMS: 5_000 })
    try {
      await client.connect()
      const docs = await client
        .db(this.system.adsDatabase)
        .collection<{ _id: string; price?: { amount?: unknown } }>('ads')
        .find({}, { projection: { _id: 1, price: 1 } })
        .toArray()
      return docs.map((doc) => ({
        id: doc._id,
        priced: typeof doc.price?.amount === 'number' && doc.price.amount > 0,
      }))
    } finally {
      await client.close()
    }
  }

  async countAds(ids: Set<string>): Promise<number> {
    return (await this.ads()).filter((ad) => ids.has(ad.id)).length
  }

  async snapshot(): Promise<Snapshot> {
    const pg = await this.postgres()
    const [created, processed, createdDlq, processedDlq, ads] = await Promise.all([
      this.read(TOPICS.vehicleCreated),
      this.read(TOPICS.vehicleProcessed),
      this.read(`${TOPICS.vehicleCreated}.dlq`),
      this.read(`${TOPICS.vehicleProcessed}.dlq`),
      this.ads(),
    ])
    return {
      postgres: pg.ids,
      halfWritten: pg.halfWritten,
      outboxPending: pg.outboxPending,
      created,
      processed,
      dlq: [...createdDlq, ...processedDlq],
      ads,
    }
  }

  /**
   * Waits until every vehicle in PostgreSQL has its ad (or the deadline), then compares all layers.
   * Returns the comparison and when the ads were complete.
   */
  async settle(
    acknowledged: Set<string>,
    timeoutMs: number,
  ): Promise<{ result: Reconciliation; snapshot: Snapshot; completeAt: number | undefined }> {
    const deadline = Date.now() + timeoutMs
    let completeAt: number | undefined
    for (;;) {
      try {
        const { ids } = await this.postgres()
        const inPostgres = new Set(ids)
        if (inPostgres.size >= acknowledged.size && (await this.countAds(inPostgres)) === inPostgres.size) {
          completeAt = Date.now()
          break
        }
      } catch {
        // A component may still be coming back; the deadline decides.
      }
      if (Date.now() > deadline) break
      await Bun.sleep(250)
    }
    // Give a late duplicate (a redelivery after a rebalance) a moment to show before the books close.
    await Bun.sleep(2_000)
    const snapshot = await this.snapshot()
    return { result: reconcile(acknowledged, snapshot), snapshot, completeAt }
  }
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
    halfWritten: snapshot.halfWritten,
    dlq: snapshot.dlq.length,
  }
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
    `half-written ${sample(result.halfWritten)}`,
    `dead letters ${result.dlq}`,
  ].join('; ')
}

/**
 * The books of one run: which vehicle ids exist in PostgreSQL, on the created and processed topics
 * (read_committed, only what was appended since the run started) and in the ads collection; and how many
 * dead letters arrived. A fault case ends with `reconcile`, which says, per vehicle, where it is missing
 * or appears more than once, and which vehicle was priced twice: two different prices or two processed
 * event ids among its records on the processed topic and its ad ("re-priced"; a replayed or redelivered
 * created event must be answered with the same event, byte for byte).
 *
 * Topics are the system's own and outlive runs, so the ledger marks their end offsets before the first
 * POST and reads only from there; records of other vehicles (none while the system lock is held, but
 * cheap to tolerate) are ignored by filtering on this run's ids.
 */
import { TOPICS } from '../../packages/contracts/src/topics'
import { MongoClient, postgres } from '../../packages/testing/src/index'
import { type AdSummary, type Reconciliation, reconcile, type Snapshot } from './reconcile'
import type { System } from './system'
import { endOffsets, type Marks, readProcessedSince, readSince, type TopicRecord } from './topic-records'

export {
  type AdSummary,
  describe,
  eventIdOf,
  type Reconciliation,
  reconcile,
  type Snapshot,
  totals,
} from './reconcile'
export { endOffsets, type Marks, type ProcessedRecord, readSince, type TopicRecord } from './topic-records'

export const WATCHED = [
  TOPICS.vehicleCreated,
  TOPICS.vehicleProcessed,
  `${TOPICS.vehicleCreated}.dlq`,
  `${TOPICS.vehicleProcessed}.dlq`,
] as const
export type WatchedTopic = (typeof WATCHED)[number]

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

  private mark(topic: WatchedTopic): Marks {
    const marks = this.marks.get(topic)
    if (marks === undefined) throw new Error(`no marks for ${topic}`)
    return marks
  }

  private read(topic: WatchedTopic): Promise<TopicRecord[]> {
    return readSince(this.system.stack.KAFKA_BROKERS, topic, this.mark(topic))
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
        .collection<{ _id: string; price?: { amount?: unknown }; eventId?: unknown }>('ads')
        .find({}, { projection: { _id: 1, price: 1, eventId: 1 } })
        .toArray()
      return docs.map((doc) => {
        const amount = doc.price?.amount
        return {
          id: doc._id,
          priced: typeof amount === 'number' && amount > 0,
          ...(typeof amount === 'number' ? { price: amount } : {}),
          ...(typeof doc.eventId === 'string' ? { eventId: doc.eventId } : {}),
        }
      })
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
      readProcessedSince(
        this.system.stack.KAFKA_BROKERS,
        TOPICS.vehicleProcessed,
        this.mark(TOPICS.vehicleProcessed),
      ),
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

/**
 * The ads read model in the MongoDB-wire server (FerretDB here), through the official driver.
 *
 * Writes are idempotent, versioned upserts keyed by vehicle id: a redelivered or older processed event
 * matches nothing and changes nothing, and so does a second answer to the created event the ad already
 * holds (same `causationId`), whatever its version says. No multi-document transactions (the server has
 * none) and no change streams. A batch of events is one unordered `bulkWrite` of inserts; only the vehicles that
 * already have an ad pay a version comparison each.
 */
import {
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Filter,
  type IndexDescription,
  MongoBulkWriteError,
  type UpdateFilter,
  type WriteConcernSettings,
} from 'mongodb'
import { KeyLanes } from './key-lanes'
import { type AdDocument, type AdView, type ProcessedVehicle, toView } from './model'
import { type AdQuery, type Cursor, encodeCursor, filterFor, sortFor, sortKeyOf } from './query'
import { versionKey } from './version'
import { DUPLICATE_KEY, IncompleteWriteError, isDuplicateKey, WriteContentionError } from './write-errors'

export const COLLECTION = 'ads'

/** One index per query GET /ads serves; `_id` last, in the sort's direction, for the keyset tiebreak. */
export const INDEXES: IndexDescription[] = [
  { name: 'price_id', key: { 'price.amount': 1, _id: 1 } },
  { name: 'updatedAt_id', key: { updatedAt: -1, _id: -1 } },
  { name: 'manufacturer_model_price_id', key: { manufacturer: 1, model: 1, 'price.amount': 1, _id: 1 } },
  { name: 'manufacturer_model_updatedAt_id', key: { manufacturer: 1, model: 1, updatedAt: -1, _id: -1 } },
  { name: 'year_price_id', key: { year: 1, 'price.amount': 1, _id: 1 } },
]

/** `applied`: the ad now holds this event. `stale`: the ad already held this event or a newer one. */
export type UpsertOutcome = 'applied' | 'stale'

/**
 * What became of one event of a batch: `applied`/`stale` as for one upsert (`stale` also for an event
 * superseded by a newer one of the same vehicle in the same batch), or `rejected` when no ad can be
 * made of it (its date cannot be ordered): retrying cannot help, the caller dead-letters it.
 */
export type BatchOutcome = UpsertOutcome | { rejected: unknown }

export interface AdPage {
  items: AdView[]
  nextCursor: string | null
}

/** The ad a processed event makes. */
export function adDocument(event: ProcessedVehicle): AdDocument {
  const { id, vin, manufacturer, model, year, odometer, odometerUnit } = event.vehicle
  return {
    _id: id,
    vin,
    manufacturer,
    model,
    year,
    odometer,
    odometerUnit,
    price: { amount: event.price.amount, currency: event.price.currency },
    estimatedAt: event.estimatedAt,
    updatedAt: new Date(event.occurredAt),
    version: versionKey(event.occurredAt, event.eventId),
    eventId: event.eventId,
    causationId: event.causationId.toLowerCase(),
    projectedAt: new Date(),
  }
}

/** The version guard: matches the vehicle's ad only while it holds an older version (or none). */
export function olderThan(id: string, version: string): Filter<AdDocument> {
  return { _id: id, $or: [{ version: { $exists: false } }, { version: { $lt: version } }] }
}

/**
 * The same write as one guarded upsert statement — the single-round-trip form for MongoDB, and the
 * benchmark's raw-driver reference. Not what the repository sends to FerretDB: see `write`.
 */
export function upsertModel(event: ProcessedVehicle): {
  filter: Filter<AdDocument>
  update: UpdateFilter<AdDocument>
} {
  const { _id, ...fields } = adDocument(event)
  return { filter: olderThan(_id, fields.version), update: { $set: fields } }
}

const MAX_ATTEMPTS = 5

export interface AdsRepositoryOptions {
  /** Acknowledgement a write waits for before the consumer commits its offset. */
  writeConcern?: WriteConcernSettings
  /** For unit tests: a stand-in for the `ads` collection. */
  collection?: Collection<AdDocument>
  /** Called with each document this repository wrote, once acknowledged (feeds the in-memory index). */
  onApplied?: (doc: AdDocument) => void
}

export class AdsRepository {
  private readonly ads: Collection<AdDocument>
  private readonly lanes = new KeyLanes()
  private readonly onApplied: (doc: AdDocument) => void

  constructor(
    private readonly db: Db,
    options: AdsRepositoryOptions = {},
  ) {
    this.onApplied = options.onApplied ?? (() => {})
    this.ads =
      options.collection ??
      db.collection<AdDocument>(COLLECTION, { writeConcern: options.writeConcern ?? { w: 'majority' } })
  }

  /** Creates the collection's indexes; idempotent, run at every start before serving. */
  async ensureIndexes(): Promise<void> {
    // One index per command: FerretDB v1.24 panics (and drops the connection) on a createIndexes that
    // names two or more indexes which already exist — it deletes from a slice by stale positions
    // (FerretDB/FerretDB#3858). One at a time, an existing index is a no-op as in MongoDB.
    for (const index of INDEXES) await this.ads.createIndexes([index])
  }

  /** Round trip to the server, for `/health/ready`. */
  async ping(): Promise<void> {
    await this.db.command({ ping: 1 })
  }

  /**
   * Stores the processed event as the vehicle's ad unless the ad already holds it or a newer one.
   * Resolves only once the server acknowledged the write (with the configured write concern).
   */
  upsert(event: ProcessedVehicle): Promise<UpsertOutcome> {
    return this.lanes.run(event.vehicle.id, () => this.write(adDocument(event), true))
  }

  /**
   * The batch form of `upsert`, with the same guarantees per vehicle. Outcomes are in the order of
   * `events`. Resolves once every write is acknowledged; a database error rejects the whole call, and
   * calling again with the same events is safe (what was written is then `stale`).
   *
   * 1. The newest event per vehicle is kept (older ones of the batch are `stale` without a write).
   * 2. One unordered `bulkWrite` inserts them all: each insert that succeeds is `applied` (a vehicle
   *    without an ad, the common case), each duplicate key means the vehicle has an ad already.
   * 3. Those few go through the single-event comparison (read version by `_id`, guarded update).
   */
  upsertMany(events: readonly ProcessedVehicle[]): Promise<BatchOutcome[]> {
    const outcomes: BatchOutcome[] = new Array(events.length).fill('stale')
    const newest = new Map<string, { index: number; doc: AdDocument }>()
    events.forEach((event, index) => {
      let doc: AdDocument
      try {
        doc = adDocument(event)
      } catch (error) {
        outcomes[index] = { rejected: error }
        return
      }
      const kept = newest.get(doc._id)
      // A second answer to the same created event changes nothing: the first one of the batch stays.
      if (kept !== undefined && kept.doc.causationId === doc.causationId) return
      if (kept === undefined || doc.version > kept.doc.version) newest.set(doc._id, { index, doc })
    })
    const entries = [...newest.values()]
    if (entries.length === 0) return Promise.resolve(outcomes)
    return this.lanes.runAll([...newest.keys()], async () => {
      const existing = await this.insertAll(entries.map((entry) => entry.doc))
      entries.forEach((entry, i) => {
        if (existing.has(i)) return
        outcomes[entry.index] = 'applied'
        this.onApplied(entry.doc)
      })
      await Promise.all(
        [...existing].map(async (i) => {
          const entry = entries[i]
          if (entry !== undefined) outcomes[entry.index] = await this.write(entry.doc, false)
        }),
      )
      return outcomes
    })
  }

  /** Inserts every document (one unordered bulk write); resolves to the positions whose ad existed. */
  private async insertAll(docs: AdDocument[]): Promise<Set<number>> {
    const operations: AnyBulkWriteOperation<AdDocument>[] = docs.map((document) => ({
      insertOne: { document },
    }))
    try {
      const result = await this.ads.bulkWrite(operations, { ordered: false })
      // Every insert must be accounted for: one the server neither inserted nor refused (seen while
      // FerretDB shuts down) would be counted applied without being stored. Retried as a whole.
      if (result.insertedCount !== docs.length) {
        throw new IncompleteWriteError(
          `bulk insert acknowledged ${result.insertedCount} of ${docs.length} ads`,
        )
      }
      return new Set()
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || error.writeConcernError !== undefined) throw error
      const failures = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
      if (error.result.insertedCount + failures.length !== docs.length) throw error
      const existing = new Set<number>()
      // Anything but a duplicate key is not about the ad existing: the whole call fails (and is retried).
      for (const failure of failures) {
        if (failure.code !== DUPLICATE_KEY) throw error
        existing.add(failure.index)
      }
      return existing
    }
  }

  /**
   * Insert first, then compare:
   * - `insertOne` succeeds → there was no ad for this vehicle: applied (the common case, one round trip);
   * - duplicate key → an ad exists: read its version and causation by `_id`; the ad already answers this
   *   created event (same `causationId`: a replay, or an estimator that priced it again) or holds this
   *   version or a newer one → `stale`, nothing written; an older one → `updateOne` with the version guard in the filter; nothing modified
   *   means it changed in between → start again.
   * Why not the one-statement guarded upsert (`upsertModel`): FerretDB v1.24 with the SQLite backend (the
   * local stack) pushes a filter down only when it is exactly `{_id}`, so `{_id, $or: …}` decodes every
   * document of the collection on each write — measured 0.9 s per write at 5,000 ads and 3.4 s at 20,000.
   * Here a new vehicle costs one insert and a redelivery an insert attempt plus a lookup by `_id`, both
   * independent of the collection size; only a vehicle priced again pays the guarded update.
   */
  private async write(doc: AdDocument, insertFirst: boolean): Promise<UpsertOutcome> {
    const { _id, ...fields } = doc
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // Skipped on the first attempt when the caller's bulk insert already met the duplicate key.
      if (insertFirst || attempt > 1) {
        try {
          await this.ads.insertOne(doc)
          this.onApplied(doc)
          return 'applied'
        } catch (error) {
          if (!isDuplicateKey(error)) throw error
        }
      }
      const current = await this.ads.findOne({ _id }, { projection: { version: 1, causationId: 1 } })
      // Gone in between (ads are never deleted here, but a hand clean-up could): insert again.
      if (current === null) continue
      if (current.causationId === doc.causationId) return 'stale'
      if (current.version !== undefined && current.version >= doc.version) return 'stale'
      const result = await this.ads.updateOne(olderThan(_id, doc.version), { $set: fields })
      if (result.modifiedCount > 0) {
        this.onApplied(doc)
        return 'applied'
      }
    }
    throw new WriteContentionError(
      `ad ${_id} changed under ${MAX_ATTEMPTS} consecutive writes of event ${doc.eventId}`,
    )
  }

  /** Every ad, for loading the in-memory index (one pass over the collection). */
  async scanAll(): Promise<AdDocument[]> {
    return this.ads.find({}).batchSize(5_000).toArray()
  }

  async findById(id: string): Promise<AdView | null> {
    const doc = await this.ads.findOne({ _id: id })
    return doc === null ? null : toView(doc)
  }

  async list(query: AdQuery): Promise<AdPage> {
    const docs = await this.ads
      .find(filterFor(query))
      .sort(sortFor(query.sort))
      .limit(query.limit + 1)
      .toArray()
    const page = docs.slice(0, query.limit)
    const last = page.at(-1)
    const next: Cursor | undefined =
      docs.length > query.limit && last !== undefined
        ? { sort: query.sort, key: sortKeyOf(query.sort, last), id: last._id }
        : undefined
    return { items: page.map(toView), nextCursor: next === undefined ? null : encodeCursor(next) }
  }
}

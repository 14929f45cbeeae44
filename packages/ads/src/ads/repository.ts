/**
 * The ads read model in the MongoDB-wire server (FerretDB here), through the official driver.
 *
 * Writes are idempotent, versioned upserts keyed by vehicle id: a redelivered or older processed event
 * matches nothing and changes nothing. No multi-document transactions (the server has none) and no
 * change streams: one `updateOne` per event is the whole write.
 */
import {
  type Collection,
  type Db,
  type Filter,
  type IndexDescription,
  MongoError,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  type UpdateFilter,
  type WriteConcernSettings,
} from 'mongodb'
import { KeyLanes } from './key-lanes'
import { type AdDocument, type AdView, type ProcessedVehicle, toView } from './model'
import { type AdQuery, type Cursor, encodeCursor, filterFor, sortFor, sortKeyOf } from './query'
import { versionKey } from './version'

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

export interface AdPage {
  items: AdView[]
  nextCursor: string | null
}

const DUPLICATE_KEY = 11000

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY
}

/**
 * True when the database could not be reached or answered "try later": the write did not fail because
 * of the event, so the caller must retry the same event rather than give up on it.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true
  if (error instanceof MongoError) {
    return (
      error.hasErrorLabel('RetryableWriteError') ||
      error.hasErrorLabel('TransientTransactionError') ||
      error.name === 'MongoTopologyClosedError' ||
      error.name === 'MongoNotConnectedError' ||
      error.name === 'MongoOperationTimeoutError'
    )
  }
  return false
}

/**
 * The guarded upsert of one processed event, as filter and update (also what the benchmark hands to the
 * driver's bulkWrite as its reference). The filter matches the vehicle's ad only while it holds an older
 * version (or none). When it holds this version or a newer one the filter matches nothing, the upsert
 * tries to insert `_id` again and the server answers duplicate key: "a newer or equal write already won".
 */
export function upsertModel(event: ProcessedVehicle): {
  filter: Filter<AdDocument>
  update: UpdateFilter<AdDocument>
} {
  const version = versionKey(event.occurredAt, event.eventId)
  const { id, vin, manufacturer, model, year, odometer, odometerUnit } = event.vehicle
  const fields: Omit<AdDocument, '_id'> = {
    vin,
    manufacturer,
    model,
    year,
    odometer,
    odometerUnit,
    price: { amount: event.price.amount, currency: event.price.currency },
    estimatedAt: event.estimatedAt,
    updatedAt: new Date(event.occurredAt),
    version,
    eventId: event.eventId,
  }
  return {
    filter: { _id: id, $or: [{ version: { $exists: false } }, { version: { $lt: version } }] },
    update: { $set: fields },
  }
}

export interface AdsRepositoryOptions {
  /** Acknowledgement a write waits for before the consumer commits its offset. */
  writeConcern?: WriteConcernSettings
}

export class AdsRepository {
  private readonly ads: Collection<AdDocument>
  private readonly lanes = new KeyLanes()

  constructor(
    private readonly db: Db,
    options: AdsRepositoryOptions = {},
  ) {
    this.ads = db.collection<AdDocument>(COLLECTION, {
      writeConcern: options.writeConcern ?? { w: 'majority' },
    })
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
    return this.lanes.run(event.vehicle.id, () => this.write(event))
  }

  private async write(event: ProcessedVehicle): Promise<UpsertOutcome> {
    const { filter, update } = upsertModel(event)
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.ads.updateOne(filter, update, { upsert: true })
        return result.upsertedCount + result.modifiedCount > 0 ? 'applied' : 'stale'
      } catch (error) {
        if (!isDuplicateKey(error)) throw error
        // A duplicate key on the first attempt can also mean another writer inserted an OLDER version
        // between the server's read and its insert (read-then-write upsert). Now the document exists,
        // so a second attempt is a plain guarded update: it either applies or truly finds a newer one.
        if (attempt >= 2) return 'stale'
      }
    }
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

/**
 * The ads as an in-memory ordered index, for GET /ads on a MongoDB-wire server that cannot serve sorted
 * pages from its indexes. FerretDB v1.24 pushes down no sort and no range filter (the SQLite backend
 * only `{_id}`): every page of `find().sort().limit(51)` decodes the whole collection — about 7 s at
 * 100,000 ads. Here the same query (same filters, same order, same keyset cursor) walks two sorted
 * arrays; the database stays the source of truth: the index is loaded from it at start, updated by this
 * process's own acknowledged writes, and reloaded periodically to pick up writes of other instances.
 */
import type { AdDocument } from './model'
import { toView } from './model'
import type { AdQuery, AdSort, Cursor } from './query'
import { encodeCursor, sortKeyOf } from './query'
import type { AdPage } from './repository'

type Compare = (a: AdDocument, b: AdDocument) => number

const byId = (a: AdDocument, b: AdDocument) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0)
/** (price.amount, _id) ascending — `sort=price` forwards, `sort=-price` backwards (as the DB sort). */
const priceOrder: Compare = (a, b) => a.price.amount - b.price.amount || byId(a, b)
/** (updatedAt, _id) descending — `sort=newest`. */
const newestOrder: Compare = (a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || byId(b, a)

/** First position whose element compares greater than `probe` (upper bound). */
function after(list: readonly AdDocument[], probe: AdDocument, compare: Compare): number {
  let low = 0
  let high = list.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (compare(list[mid] as AdDocument, probe) <= 0) low = mid + 1
    else high = mid
  }
  return low
}

/** First position whose element compares greater than or equal to `probe` (lower bound). */
function atOrAfter(list: readonly AdDocument[], probe: AdDocument, compare: Compare): number {
  let low = 0
  let high = list.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (compare(list[mid] as AdDocument, probe) < 0) low = mid + 1
    else high = mid
  }
  return low
}

/** A stand-in document carrying only a cursor's sort key and id, for binary search. */
function probeOf(cursor: Cursor): AdDocument {
  const probe = { _id: cursor.id, price: { amount: cursor.key }, updatedAt: new Date(cursor.key) }
  return probe as unknown as AdDocument
}

function matches(doc: AdDocument, q: AdQuery): boolean {
  return (
    (q.manufacturer === undefined || doc.manufacturer === q.manufacturer) &&
    (q.model === undefined || doc.model === q.model) &&
    (q.yearFrom === undefined || doc.year >= q.yearFrom) &&
    (q.yearTo === undefined || doc.year <= q.yearTo) &&
    (q.priceMin === undefined || doc.price.amount >= q.priceMin) &&
    (q.priceMax === undefined || doc.price.amount <= q.priceMax)
  )
}

export class AdIndex {
  private readonly ids = new Map<string, AdDocument>()
  private byPrice: AdDocument[] = []
  private byNewest: AdDocument[] = []

  static of(docs: Iterable<AdDocument>): AdIndex {
    const index = new AdIndex()
    for (const doc of docs) {
      const held = index.ids.get(doc._id)
      if (held === undefined || held.version < doc.version) index.ids.set(doc._id, doc)
    }
    index.byPrice = [...index.ids.values()].sort(priceOrder)
    index.byNewest = [...index.ids.values()].sort(newestOrder)
    return index
  }

  get size(): number {
    return this.ids.size
  }

  get(id: string): AdDocument | undefined {
    return this.ids.get(id)
  }

  /** Takes `doc` unless the index already holds this version of the ad or a newer one. */
  apply(doc: AdDocument): boolean {
    const held = this.ids.get(doc._id)
    if (held !== undefined) {
      if (held.version >= doc.version) return false
      this.byPrice.splice(atOrAfter(this.byPrice, held, priceOrder), 1)
      this.byNewest.splice(atOrAfter(this.byNewest, held, newestOrder), 1)
    }
    this.ids.set(doc._id, doc)
    this.byPrice.splice(atOrAfter(this.byPrice, doc, priceOrder), 0, doc)
    this.byNewest.splice(atOrAfter(this.byNewest, doc, newestOrder), 0, doc)
    return true
  }

  /** Folds into `fresher` (a reload) what this index holds at a newer version: writes during the reload. */
  carryInto(fresher: AdIndex): AdIndex {
    for (const doc of this.ids.values()) fresher.apply(doc)
    return fresher
  }

  list(query: AdQuery): AdPage {
    const sort: AdSort = query.sort
    const backwards = sort === '-price'
    const list = sort === 'newest' ? this.byNewest : this.byPrice
    const compare = sort === 'newest' ? newestOrder : priceOrder
    const found: AdDocument[] = []
    const want = query.limit + 1
    if (!backwards) {
      let i = query.after === undefined ? 0 : after(list, probeOf(query.after), compare)
      for (; i < list.length && found.length < want; i++) {
        const doc = list[i] as AdDocument
        // Sorted by price: nothing further can be within priceMax.
        if (sort === 'price' && query.priceMax !== undefined && doc.price.amount > query.priceMax) break
        if (matches(doc, query)) found.push(doc)
      }
    } else {
      let i = (query.after === undefined ? list.length : atOrAfter(list, probeOf(query.after), compare)) - 1
      for (; i >= 0 && found.length < want; i--) {
        const doc = list[i] as AdDocument
        if (query.priceMin !== undefined && doc.price.amount < query.priceMin) break
        if (matches(doc, query)) found.push(doc)
      }
    }
    const page = found.slice(0, query.limit)
    const last = page.at(-1)
    const nextCursor =
      found.length > query.limit && last !== undefined
        ? encodeCursor({ sort, key: sortKeyOf(sort, last), id: last._id })
        : null
    return { items: page.map(toView), nextCursor }
  }
}

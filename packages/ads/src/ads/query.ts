/**
 * GET /ads as a database query: filters, one of three orders, and keyset pagination over
 * (sort key, _id). A page never skips or repeats an ad because ads are inserted meanwhile: the cursor
 * says "after this (key, id)" instead of "skip N", and `_id` makes every position unique.
 */
import type { Filter, Sort } from 'mongodb'
import type { AdDocument } from './model'

export const SORTS = ['price', '-price', 'newest'] as const
export type AdSort = (typeof SORTS)[number]

export const LIMIT_MIN = 1
export const LIMIT_MAX = 100
export const LIMIT_DEFAULT = 20

export interface AdFilters {
  manufacturer?: string
  model?: string
  yearFrom?: number
  yearTo?: number
  priceMin?: number
  priceMax?: number
}

/** Where the previous page ended: its last ad's sort key and id, for the sort it was read with. */
export interface Cursor {
  sort: AdSort
  /** `price.amount` for price sorts, `updatedAt` in ms since epoch for newest. */
  key: number
  id: string
}

export interface AdQuery extends AdFilters {
  sort: AdSort
  limit: number
  after?: Cursor
}

/** A cursor the client changed or truncated. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError'
}

interface Order {
  field: 'price.amount' | 'updatedAt'
  direction: 1 | -1
}

const ORDERS: Record<AdSort, Order> = {
  price: { field: 'price.amount', direction: 1 },
  '-price': { field: 'price.amount', direction: -1 },
  newest: { field: 'updatedAt', direction: -1 },
}

/** The sort; `_id` follows the key's direction so one compound index serves both price orders. */
export function sortFor(sort: AdSort): Sort {
  const { field, direction } = ORDERS[sort]
  return { [field]: direction, _id: direction }
}

/** The sort key of a document, as a cursor stores it. */
export function sortKeyOf(sort: AdSort, doc: Pick<AdDocument, 'price' | 'updatedAt'>): number {
  return ORDERS[sort].field === 'price.amount' ? doc.price.amount : doc.updatedAt.getTime()
}

/**
 * One flat filter document rather than `$and` of clauses: FerretDB v1.24's PostgreSQL backend pushes
 * top-level equality conditions down but nothing nested under `$and`/`$or`, so a manufacturer or model
 * filter written flat is evaluated by PostgreSQL. (Its SQLite backend, the local stack's, pushes down only
 * an exact `{_id}`; MongoDB uses the indexes either way.)
 */
export function filterFor(query: AdQuery): Filter<AdDocument> {
  const filter: Record<string, unknown> = {}
  if (query.manufacturer !== undefined) filter.manufacturer = query.manufacturer
  if (query.model !== undefined) filter.model = query.model
  const year = range(query.yearFrom, query.yearTo)
  if (year !== undefined) filter.year = year
  const price = range(query.priceMin, query.priceMax)
  if (price !== undefined) filter['price.amount'] = price
  if (query.after !== undefined) filter.$or = afterCursor(query.after)
  return filter as Filter<AdDocument>
}

function range(
  from: number | undefined,
  to: number | undefined,
): { $gte?: number; $lte?: number } | undefined {
  if (from === undefined && to === undefined) return undefined
  return { ...(from === undefined ? {} : { $gte: from }), ...(to === undefined ? {} : { $lte: to }) }
}

/** "After (key, id)" in the sort's direction: a greater key, or the same key and a greater id. */
function afterCursor(cursor: Cursor): Filter<AdDocument>[] {
  const { field, direction } = ORDERS[cursor.sort]
  const beyond = direction === 1 ? '$gt' : '$lt'
  const key = field === 'updatedAt' ? new Date(cursor.key) : cursor.key
  return [
    { [field]: { [beyond]: key } },
    { [field]: key, _id: { [beyond]: cursor.id } },
  ] as Filter<AdDocument>[]
}

/**
 * `<sort key>.<vehicle id>`: the position after which the next page starts, in the order of the `sort`
 * it is used with (pass the sort of the page that gave it). Readable on purpose, so the OpenAPI document
 * can state exactly what is accepted: the key is a whole number up to 9,006,999,999,999,999, just below
 * 2^53 (a price, or milliseconds since 1970 for `newest`), the id a lower-case UUID. The end is `(?![\s\S])` rather than `$`, which in
 * Python's `re` also matches before a final newline (`\s` and `\S` together are every character, in
 * every engine).
 */
export const CURSOR_PATTERN =
  '^(?:0|[1-9][0-9]{0,14}|[1-8][0-9]{15}|900[0-6][0-9]{12})\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![\\s\\S])'
export const CURSOR_MAX_LENGTH = 16 + 1 + 36
const CURSOR = new RegExp(CURSOR_PATTERN, 'u')

export function encodeCursor(cursor: Cursor): string {
  return `${cursor.key}.${cursor.id}`
}

export function decodeCursor(value: string, sort: AdSort): Cursor {
  if (value.length > CURSOR_MAX_LENGTH || !CURSOR.test(value)) {
    throw new InvalidCursorError('cursor is not one this API issued (<sort key>.<vehicle id>)')
  }
  const dot = value.indexOf('.')
  const key = Number(value.slice(0, dot))
  if (!Number.isSafeInteger(key)) throw new InvalidCursorError('cursor key is out of range')
  return { sort, key, id: value.slice(dot + 1) }
}

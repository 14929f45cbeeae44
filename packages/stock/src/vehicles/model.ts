/**
 * vehicles-stock's HTTP models: the list query (parsed strictly, every bad parameter named), the page
 * shape and the cursor (the last id of a page). Body and vehicle shapes are the contracts' own.
 */
import { Type } from '@sinclair/typebox'
import { nameFilter, queryParamReader, Vehicle, YEAR_MAX, YEAR_MIN } from '@vehicles/contracts'
import { ValidationFailedError } from '@vehicles/platform'

export const LIMIT_MIN = 1
export const LIMIT_MAX = 100
export const LIMIT_DEFAULT = 20

export const VehiclePage = Type.Object(
  {
    items: Type.Array(Vehicle),
    nextCursor: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
      description: 'pass as `cursor` for the next page; null on the last page',
    }),
  },
  { title: 'VehiclePage', additionalProperties: false },
)

export interface ListQuery {
  limit: number
  /** Only vehicles with an id below this one (ids are UUID v7: time-ordered; the list is newest first). */
  before?: string
  manufacturer?: string
  model?: string
  yearFrom?: number
  yearTo?: number
}

export const QUERY_DOCS = {
  limit: Type.Integer({ minimum: LIMIT_MIN, maximum: LIMIT_MAX, default: LIMIT_DEFAULT }),
  cursor: Type.String({
    format: 'uuid',
    minLength: 36,
    maxLength: 36,
    description: 'nextCursor of the previous page: the id of its last vehicle (the list continues below it)',
  }),
  manufacturer: nameFilter(),
  model: nameFilter(),
  yearFrom: Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'inclusive' }),
  yearTo: Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'inclusive' }),
} as const

const KNOWN = Object.keys(QUERY_DOCS)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (value: string) => UUID.test(value)

/**
 * The cursor is the last id of the page: ids are UUID v7, time-ordered, so "below this id" is a position
 * any UUID names, and the documented format (uuid) is exactly what is accepted.
 */
export const encodeCursor = (lastId: string): string => lastId

/** `GET /stock` query string → `ListQuery`; throws `ValidationFailedError` naming every bad parameter. */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const { problems, problem: bad, integer, name } = queryParamReader(params, KNOWN)

  const query: ListQuery = { limit: integer('limit', LIMIT_MIN, LIMIT_MAX) ?? LIMIT_DEFAULT }
  const cursor = params.get('cursor')
  if (cursor !== null) {
    if (isUuid(cursor)) query.before = cursor.toLowerCase()
    else bad('cursor', 'format', 'must be the nextCursor of a page (a vehicle id, uuid)')
  }
  const manufacturer = name('manufacturer')
  if (manufacturer !== undefined) query.manufacturer = manufacturer
  const model = name('model')
  if (model !== undefined) query.model = model
  const yearFrom = integer('yearFrom', YEAR_MIN, YEAR_MAX)
  if (yearFrom !== undefined) query.yearFrom = yearFrom
  const yearTo = integer('yearTo', YEAR_MIN, YEAR_MAX)
  if (yearTo !== undefined) query.yearTo = yearTo
  // yearFrom > yearTo is an empty range, answered with an empty page: a rule between two parameters
  // cannot be written in the OpenAPI document, and a document must not allow what the service refuses.

  if (problems.length > 0) throw new ValidationFailedError(problems, 'the query string is invalid')
  return query
}

/**
 * vehicles-stock's HTTP models: the list query (parsed strictly, every bad parameter named), the page
 * shape and the opaque cursor. Body and vehicle shapes are the contracts' own.
 */
import { Type } from '@sinclair/typebox'
import { NAME_MAX_LENGTH, Vehicle, YEAR_MAX, YEAR_MIN } from '@vehicles/contracts'
import { ValidationFailedError } from '@vehicles/platform'

export const LIMIT_MIN = 1
export const LIMIT_MAX = 100
export const LIMIT_DEFAULT = 20

export const VehiclePage = Type.Object(
  {
    items: Type.Array(Vehicle),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
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

// PostgreSQL refuses a NUL byte in text (error 22021): such a filter is a bad parameter, not a 500.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point: they are refused.
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/

export const QUERY_DOCS = {
  limit: Type.Integer({ minimum: LIMIT_MIN, maximum: LIMIT_MAX, default: LIMIT_DEFAULT }),
  cursor: Type.String({ description: 'nextCursor of the previous page, as given' }),
  manufacturer: Type.String({
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NO_CONTROL_CHARACTERS.source,
    description: 'exact match',
  }),
  model: Type.String({
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NO_CONTROL_CHARACTERS.source,
    description: 'exact match',
  }),
  yearFrom: Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'inclusive' }),
  yearTo: Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'inclusive' }),
} as const

const KNOWN = Object.keys(QUERY_DOCS)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (value: string) => UUID.test(value)

/** The cursor is opaque to clients: base64url of a versioned JSON object holding the last id seen. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, id: lastId }), 'utf8').toString('base64url')
}

export function decodeCursor(cursor: string): string | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v?: unknown
      id?: unknown
    }
    if (value.v === 1 && typeof value.id === 'string' && isUuid(value.id)) return value.id.toLowerCase()
  } catch {
    // falls through: not a cursor this service wrote
  }
  return undefined
}

const INTEGER = /^-?\d{1,10}$/

/** `GET /stock` query string → `ListQuery`; throws `ValidationFailedError` naming every bad parameter. */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const details: { field: string; rule: string; message: string }[] = []
  const bad = (field: string, rule: string, message: string) => details.push({ field, rule, message })

  for (const name of new Set(params.keys())) {
    if (!KNOWN.includes(name))
      bad(name, 'additionalProperties', `unknown parameter; known: ${KNOWN.join(', ')}`)
    else if (params.getAll(name).length > 1) bad(name, 'maxItems', 'given more than once')
  }

  const integer = (name: string, min: number, max: number): number | undefined => {
    const raw = params.get(name)
    if (raw === null) return undefined
    if (!INTEGER.test(raw)) {
      bad(name, 'type', 'must be an integer')
      return undefined
    }
    const value = Number(raw)
    if (value < min) bad(name, 'minimum', `must be >= ${min}`)
    else if (value > max) bad(name, 'maximum', `must be <= ${max}`)
    return value
  }
  const name = (field: string): string | undefined => {
    const raw = params.get(field)
    if (raw === null) return undefined
    const value = raw.trim()
    if (value.length === 0) bad(field, 'minLength', 'must not be blank')
    else if (!NO_CONTROL_CHARACTERS.test(value)) bad(field, 'pattern', 'must not contain control characters')
    else if (value.length > NAME_MAX_LENGTH)
      bad(field, 'maxLength', `must be at most ${NAME_MAX_LENGTH} characters`)
    return value
  }

  const query: ListQuery = { limit: integer('limit', LIMIT_MIN, LIMIT_MAX) ?? LIMIT_DEFAULT }
  const cursor = params.get('cursor')
  if (cursor !== null) {
    const before = decodeCursor(cursor)
    if (before === undefined) bad('cursor', 'format', 'is not a cursor returned by this service')
    else query.before = before
  }
  const manufacturer = name('manufacturer')
  if (manufacturer !== undefined) query.manufacturer = manufacturer
  const model = name('model')
  if (model !== undefined) query.model = model
  const yearFrom = integer('yearFrom', YEAR_MIN, YEAR_MAX)
  if (yearFrom !== undefined) query.yearFrom = yearFrom
  const yearTo = integer('yearTo', YEAR_MIN, YEAR_MAX)
  if (yearTo !== undefined) query.yearTo = yearTo
  if (yearFrom !== undefined && yearTo !== undefined && yearFrom > yearTo)
    bad('yearFrom', 'maximum', 'must not be greater than yearTo')

  if (details.length > 0) throw new ValidationFailedError(details, 'the query string is invalid')
  return query
}

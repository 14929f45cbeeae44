/**
 * GET /ads query string → `AdQuery`, or every problem at once, each naming its parameter. Strict on
 * purpose: an unknown or repeated parameter is refused rather than ignored, so a typo such as
 * `?manufactuer=Renault` answers 400 instead of an unfiltered page that looks right.
 */
import { Type } from '@sinclair/typebox'
import { nameFilter, type ParamProblem, queryParamReader, YEAR_MAX, YEAR_MIN } from '@vehicles/contracts'
import {
  type AdQuery,
  type AdSort,
  CURSOR_MAX_LENGTH,
  CURSOR_PATTERN,
  decodeCursor,
  InvalidCursorError,
  LIMIT_DEFAULT,
  LIMIT_MAX,
  LIMIT_MIN,
  SORTS,
} from './query'

export class InvalidParamsError extends Error {
  override readonly name = 'InvalidParamsError'
  constructor(readonly problems: readonly ParamProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '))
  }
}

export const DEFAULT_SORT: AdSort = 'newest'

const PRICE_MAX = Number.MAX_SAFE_INTEGER

/** The query string as documented in OpenAPI (the parser below is what enforces it). */
export const AdsQueryDoc = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: LIMIT_MIN,
        maximum: LIMIT_MAX,
        default: LIMIT_DEFAULT,
        description: 'page size',
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        pattern: CURSOR_PATTERN,
        minLength: 38,
        maxLength: CURSOR_MAX_LENGTH,
        description: 'nextCursor of the previous page, with the same sort: <sort key>.<vehicle id>',
      }),
    ),
    sort: Type.Optional(
      Type.Unsafe<AdSort>({
        type: 'string',
        enum: [...SORTS],
        default: DEFAULT_SORT,
        description: 'price (cheapest first), -price, newest (most recently priced first)',
      }),
    ),
    manufacturer: Type.Optional(nameFilter()),
    model: Type.Optional(nameFilter()),
    yearFrom: Type.Optional(Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'inclusive' })),
    yearTo: Type.Optional(Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX, description: 'inclusive' })),
    priceMin: Type.Optional(
      Type.Integer({ minimum: 0, maximum: PRICE_MAX, description: 'inclusive, whole currency units' }),
    ),
    priceMax: Type.Optional(
      Type.Integer({ minimum: 0, maximum: PRICE_MAX, description: 'inclusive, whole currency units' }),
    ),
  },
  { additionalProperties: false },
)

const KNOWN = Object.keys(AdsQueryDoc.properties)

export function parseAdsQuery(params: URLSearchParams): AdQuery {
  const { problems, problem, integer, name } = queryParamReader(params, KNOWN)

  const sortRaw = params.get('sort')
  let sort = DEFAULT_SORT
  if (sortRaw !== null) {
    if ((SORTS as readonly string[]).includes(sortRaw)) sort = sortRaw as AdSort
    else problem('sort', 'enum', `must be one of ${SORTS.join(', ')}, got "${sortRaw}"`)
  }

  const query: AdQuery = { sort, limit: integer('limit', LIMIT_MIN, LIMIT_MAX) ?? LIMIT_DEFAULT }
  const manufacturer = name('manufacturer')
  const model = name('model')
  const yearFrom = integer('yearFrom', YEAR_MIN, YEAR_MAX)
  const yearTo = integer('yearTo', YEAR_MIN, YEAR_MAX)
  const priceMin = integer('priceMin', 0, PRICE_MAX)
  const priceMax = integer('priceMax', 0, PRICE_MAX)
  if (manufacturer !== undefined) query.manufacturer = manufacturer
  if (model !== undefined) query.model = model
  if (yearFrom !== undefined) query.yearFrom = yearFrom
  if (yearTo !== undefined) query.yearTo = yearTo
  if (priceMin !== undefined) query.priceMin = priceMin
  if (priceMax !== undefined) query.priceMax = priceMax
  // yearFrom > yearTo (or priceMin > priceMax) is an empty range, answered with an empty page: a rule
  // between two parameters cannot be written in the OpenAPI document, which must not allow what the
  // service refuses.

  const cursor = params.get('cursor')
  if (cursor !== null) {
    try {
      query.after = decodeCursor(cursor, sort)
    } catch (error) {
      if (!(error instanceof InvalidCursorError)) throw error
      problem('cursor', 'format', error.message)
    }
  }

  if (problems.length > 0) throw new InvalidParamsError(problems)
  return query
}

/**
 * GET /ads query string → `AdQuery`, or every problem at once, each naming its parameter. Strict on
 * purpose: an unknown or repeated parameter is refused rather than ignored, so a typo such as
 * `?manufactuer=Renault` answers 400 instead of an unfiltered page that looks right.
 */
import { Type } from '@sinclair/typebox'
import {
  codePointLength,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  NAME_PATTERN_OPENAPI,
  trimName,
  YEAR_MAX,
  YEAR_MIN,
} from '@vehicles/contracts'
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

export interface ParamProblem {
  field: string
  rule: string
  message: string
}

export class InvalidParamsError extends Error {
  override readonly name = 'InvalidParamsError'
  constructor(readonly problems: readonly ParamProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '))
  }
}

export const DEFAULT_SORT: AdSort = 'newest'

const PRICE_MAX = Number.MAX_SAFE_INTEGER

/** A name filter: the contracts' name rule (the one stored names follow), in code points. */
const nameFilter = () =>
  Type.String({
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NAME_PATTERN_OPENAPI,
    description:
      'exact match, after trimming blanks; the rule of the stored names (no control characters or unpaired ' +
      'surrogates, at least one visible character, at most 64 code points)',
  })
const NAME = new RegExp(NAME_PATTERN, 'u')

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

const KNOWN = new Set(Object.keys(AdsQueryDoc.properties))

export function parseAdsQuery(params: URLSearchParams): AdQuery {
  const problems: ParamProblem[] = []
  const problem = (field: string, rule: string, message: string) => problems.push({ field, rule, message })

  for (const name of new Set(params.keys())) {
    if (!KNOWN.has(name))
      problem(name, 'additionalProperties', `unknown parameter; known: ${[...KNOWN].join(', ')}`)
    else if (params.getAll(name).length > 1) problem(name, 'maxItems', 'given more than once')
  }

  const integer = (name: string, min: number, max: number): number | undefined => {
    const raw = params.get(name)
    if (raw === null) return undefined
    if (!/^-?\d{1,24}$/.test(raw)) {
      problem(name, 'type', `must be an integer, got "${raw}"`)
      return undefined
    }
    const value = Number(raw)
    if (value < min) problem(name, 'minimum', `must be >= ${min}, got ${value}`)
    else if (value > max) problem(name, 'maximum', `must be <= ${max}, got ${value}`)
    else return value
    return undefined
  }
  const name = (field: string): string | undefined => {
    const raw = params.get(field)
    if (raw === null) return undefined
    if (raw.length === 0) problem(field, 'minLength', 'must not be empty')
    else if (!NAME.test(raw))
      problem(field, 'pattern', 'must contain a visible character and no control character')
    else if (codePointLength(raw) > NAME_MAX_LENGTH)
      problem(field, 'maxLength', `must be at most ${NAME_MAX_LENGTH} characters (code points)`)
    else return trimName(raw)
    return undefined
  }

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

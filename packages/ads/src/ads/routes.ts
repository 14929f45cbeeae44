/**
 * GET /ads and GET /ads/:id. The HTTP layer only translates: query string → `AdQuery` (params.ts),
 * repository answers → JSON, failures → the platform's error classes (one error body, rendered once).
 */
import { type TSchema, Type } from '@sinclair/typebox'
import { Ad, ErrorBody, forOpenApi } from '@vehicles/contracts'
import { NotFoundError, ServiceUnavailableError, ValidationFailedError } from '@vehicles/platform'
import { Elysia } from 'elysia'
import type { AdReader } from './indexed-ads'
import { AdsQueryDoc, InvalidParamsError, parseAdsQuery } from './params'
import { CURSOR_MAX_LENGTH, CURSOR_PATTERN } from './query'
import type { AdPage } from './repository'
import { isTransient } from './write-errors'

export const AdPageSchema = Type.Object(
  {
    items: Type.Array(Ad),
    nextCursor: Type.Union(
      [Type.String({ pattern: CURSOR_PATTERN, maxLength: CURSOR_MAX_LENGTH }), Type.Null()],
      {
        description: 'pass as `cursor` for the next page; null on the last page',
      },
    ),
  },
  { additionalProperties: false },
)

/**
 * Responses are documented, not validated by Elysia: its TypeBox compiler refuses the contracts'
 * `Type.Unsafe` enums ("Unknown type"), and what goes out is built field by field by `toView` anyway.
 */
const json = (description: string, schema: TSchema) => ({
  description,
  content: {
    'application/json': { schema: forOpenApi(JSON.parse(JSON.stringify(schema)) as Record<string, unknown>) },
  },
})
const errorResponse = (description: string) => json(description, ErrorBody)

/** Path parameters of `/ads/:id`: Elysia validates them (400 naming `id`) and documents them. */
const AdIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'the vehicle id' }) })

/** Links a client (or a stateful fuzzer) follows: a page to the next one, and to its first ad. */
const PAGE_LINKS = {
  NextPage: {
    operationId: 'listAds',
    parameters: { cursor: '$response.body#/nextCursor', sort: '$request.query.sort' },
    description: 'the next page, with the same sort (only while nextCursor is not null)',
  },
  FirstAd: { operationId: 'getAd', parameters: { id: '$response.body#/items/0/vehicleId' } },
}

/** The database is away: 503 with Retry-After, never a 500 that echoes driver internals. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (isTransient(error))
      throw new ServiceUnavailableError('the ads database does not answer; retry shortly', 2)
    throw error
  }
}

/** Examples for the document (readers copy them; API fuzzers try them first). */
const QUERY_EXAMPLES: Record<string, unknown> = {
  limit: 10,
  sort: 'price',
  manufacturer: 'Renault',
  yearFrom: 2015,
}

/** OpenAPI parameters from the query schema the parser enforces (Elysia does not validate them itself). */
const queryParameters = Object.entries(AdsQueryDoc.properties).map(([name, schema]) => {
  // A plain copy: TypeBox's symbol-keyed markers are no OpenAPI.
  const { description, ...rest } = JSON.parse(JSON.stringify(schema)) as { description?: string }
  const parameter = {
    name,
    in: 'query' as const,
    required: false,
    description: description ?? name,
    schema: rest,
  }
  const example = QUERY_EXAMPLES[name]
  return example === undefined ? parameter : { ...parameter, example }
})

/** `reader` is the in-memory index (database fallback by id) or the repository itself. */
export function adsRoutes(reader: AdReader) {
  return new Elysia({ name: 'ads-routes' })
    .get(
      '/ads',
      async ({ request }): Promise<AdPage> => {
        let query: ReturnType<typeof parseAdsQuery>
        try {
          query = parseAdsQuery(new URL(request.url).searchParams)
        } catch (error) {
          if (!(error instanceof InvalidParamsError)) throw error
          const names = [...new Set(error.problems.map((p) => p.field))].join(', ')
          throw new ValidationFailedError(error.problems, `invalid query parameter(s): ${names}`)
        }
        return guard(() => reader.list(query))
      },
      {
        detail: {
          responses: {
            200: { ...json('a page of ads', AdPageSchema), links: PAGE_LINKS },
            400: errorResponse('a query parameter is invalid; details name each one'),
            503: errorResponse('the database does not answer; retry after Retry-After seconds'),
          },
          tags: ['ads'],
          operationId: 'listAds',
          summary: 'List ads: filters, sort, keyset pagination',
          description:
            'Each ad appears once across pages even while ads are added: the cursor marks a position ' +
            '(sort key, vehicle id), not an offset; use it with the sort of the page that gave it. ' +
            'yearFrom > yearTo or priceMin > priceMax is an empty range (an empty page). ' +
            'Unknown or repeated parameters are refused (400).',
          parameters: queryParameters,
        },
      },
    )
    .get(
      '/ads/:id',
      async ({ params }) => {
        const ad = await guard(() => reader.findById(params.id.toLowerCase()))
        if (ad === null) throw new NotFoundError(`no ad for vehicle ${params.id}`)
        return ad
      },
      {
        params: AdIdParams,
        detail: {
          tags: ['ads'],
          operationId: 'getAd',
          summary: 'The ad of one vehicle, by vehicle id',
          responses: {
            200: json('the ad', Ad),
            400: errorResponse('id is not a uuid'),
            404: errorResponse('no ad for this vehicle (yet)'),
            503: errorResponse('the database does not answer; retry after Retry-After seconds'),
          },
        },
      },
    )
}

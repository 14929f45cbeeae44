/** HTTP of the stock: `POST /stock`, `GET /stock`, `GET /stock/:id`. The service does the work. */

import { Type } from '@sinclair/typebox'
import { CreateVehicleBody, maxModelYear, Vehicle } from '@vehicles/contracts'
import { queryParam, routeDocs, ValidationFailedError } from '@vehicles/platform'
import { Elysia } from 'elysia'
import { isUuid, parseListQuery, QUERY_DOCS, VehiclePage } from './model'
import type { VehicleService } from './service'

const queryString = (url: string) => {
  const at = url.indexOf('?')
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1))
}

/**
 * The POST body as documented: the contract with the year's moving maximum ("next year") computed when
 * the service starts, so the document states the bound the service enforces. A service running across
 * New Year documents one year less than it accepts until it restarts: never more than it accepts.
 */
const documentedBody = (now: Date) => {
  const body = JSON.parse(JSON.stringify(CreateVehicleBody)) as typeof CreateVehicleBody
  body.properties.year.maximum = maxModelYear(now)
  return body
}

/** Path parameters of `/stock/:id`: Elysia validates them (400 naming `id`) and documents them. */
const VehicleIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'the vehicle id' }) })

/** Links a client (or a stateful fuzzer) follows: a created vehicle to its page, a page to the next. */
const LINKS = {
  created: {
    GetCreatedVehicle: { operationId: 'getVehicle', parameters: { id: '$response.body#/id' } },
  },
  page: {
    NextPage: {
      operationId: 'listVehicles',
      parameters: { cursor: '$response.body#/nextCursor' },
      description: 'the next page (only while nextCursor is not null)',
    },
    FirstVehicle: { operationId: 'getVehicle', parameters: { id: '$response.body#/items/0/id' } },
  },
}

/** OpenAPI of `POST /stock`; the body's year bound depends on the date. */
function createVehicleDocs(now: Date) {
  return routeDocs({
    summary: 'Add a vehicle to the stock',
    description:
      'Stores the vehicle and its `stock.vehicle-created` event in one transaction (outbox). ' +
      'With an `Idempotency-Key`, a retried request answers the first result.',
    tags: ['stock'],
    operationId: 'createVehicle',
    body: documentedBody(now),
    bodyExample: {
      vin: '1HGCM82633A004352',
      manufacturer: 'Honda',
      model: 'Accord',
      year: 2022,
      odometer: 1000,
      odometerUnit: 'km',
    },
    links: { 201: LINKS.created },
    parameters: [
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[!-~]+$' },
        description: '1 to 255 visible ASCII characters',
      },
    ],
    responses: {
      201: [Vehicle, 'stored; `Location` names it'],
      400: 'invalid body: every field and rule named; or malformed JSON',
      409: 'a vehicle with this VIN is already in stock',
      413: 'body over the size limit',
      415: 'the body is not application/json',
      422: 'Idempotency-Key reused with a different body',
      503: 'the database is unavailable; see Retry-After',
    },
  })
}

export function vehicleRoutes(service: VehicleService, now: Date = new Date()) {
  return new Elysia({ name: 'stock-vehicles' })
    .post(
      '/stock',
      async ({ body, request, set }) => {
        const key = request.headers.get('idempotency-key') ?? undefined
        const result = await service.create(body, key)
        set.status = result.status
        set.headers.location = `/stock/${result.vehicle.id}`
        if (result.replayed) set.headers['idempotency-replayed'] = 'true'
        return result.vehicle
      },
      {
        detail: createVehicleDocs(now),
      },
    )
    .get('/stock', ({ request }) => service.list(parseListQuery(queryString(request.url))), {
      detail: routeDocs({
        summary: 'List vehicles, newest first, one page at a time',
        tags: ['stock'],
        operationId: 'listVehicles',
        links: { 200: LINKS.page },
        parameters: Object.entries(QUERY_DOCS).map(([name, schema]) => queryParam(name, schema)),
        responses: {
          200: [VehiclePage, 'one page; `nextCursor` is null on the last one'],
          400: 'a query parameter is invalid: each one named',
          503: 'the database is unavailable; see Retry-After',
        },
      }),
    })
    .get(
      '/stock/:id',
      ({ params }) => {
        if (!isUuid(params.id))
          throw new ValidationFailedError([{ field: 'id', rule: 'format', message: 'must be a UUID' }])
        return service.get(params.id.toLowerCase())
      },
      {
        params: VehicleIdParams,
        detail: routeDocs({
          summary: 'One vehicle',
          tags: ['stock'],
          operationId: 'getVehicle',
          responses: {
            200: [Vehicle, 'the vehicle'],
            400: 'the id is not a UUID',
            404: 'no such vehicle',
            503: 'the database is unavailable; see Retry-After',
          },
        }),
      },
    )
}

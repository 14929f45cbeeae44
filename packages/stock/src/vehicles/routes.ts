/** HTTP of the stock: `POST /stock`, `GET /stock`, `GET /stock/:id`. The service does the work. */
import { CreateVehicleBody, Vehicle } from '@vehicles/contracts'
import { queryParam, routeDocs, ValidationFailedError } from '@vehicles/platform'
import { Elysia } from 'elysia'
import { isUuid, parseListQuery, QUERY_DOCS, VehiclePage } from './model'
import type { VehicleService } from './service'

const queryString = (url: string) => {
  const at = url.indexOf('?')
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1))
}

export function vehicleRoutes(service: VehicleService) {
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
        detail: routeDocs({
          summary: 'Add a vehicle to the stock',
          description:
            'Stores the vehicle and its `stock.vehicle-created` event in one transaction (outbox). ' +
            'With an `Idempotency-Key`, a retried request answers the first result.',
          tags: ['stock'],
          body: CreateVehicleBody,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 255 },
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
        }),
      },
    )
    .get('/stock', ({ request }) => service.list(parseListQuery(queryString(request.url))), {
      detail: routeDocs({
        summary: 'List vehicles, newest first, one page at a time',
        tags: ['stock'],
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
        detail: routeDocs({
          summary: 'One vehicle',
          tags: ['stock'],
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

/** The HTTP contract of the ads routes, through `app.handle` with a fake repository (no stack needed). */
import { describe, expect, test } from 'bun:test'
import { createLogger, createMetrics } from '@vehicles/platform'
import { MongoNetworkError } from 'mongodb'
import { createAdsApp } from '../app'
import type { AdView } from './model'
import type { AdQuery } from './query'
import type { AdPage } from './repository'

const ad: AdView = {
  vehicleId: '2f1b3c4d-0000-4000-8000-000000000001',
  vin: 'WVWZZZ1JZXW000001',
  manufacturer: 'Renault',
  model: 'Clio',
  year: 2020,
  odometer: 1000,
  odometerUnit: 'km',
  price: { amount: 12_000, currency: 'EUR' },
  estimatedAt: '2026-11-25T10:00:00.000Z',
  updatedAt: '2026-11-25T10:00:00.000Z',
}

function app(
  repository: {
    list?: (q: AdQuery) => Promise<AdPage>
    findById?: (id: string) => Promise<AdView | null>
  } = {},
) {
  const seen: AdQuery[] = []
  const logger = createLogger({ service: 'vehicles-ads', write: () => {} })
  const handle = createAdsApp({
    logger,
    metrics: createMetrics({ service: 'vehicles-ads', processMetrics: false }),
    reader: {
      list:
        repository.list ??
        (async (q) => {
          seen.push(q)
          return { items: [ad], nextCursor: null }
        }),
      findById: repository.findById ?? (async (id) => (id === ad.vehicleId ? ad : null)),
    },
  })
  return { seen, get: (path: string) => handle.handle(new Request(`http://localhost${path}`)) }
}

describe('GET /ads', () => {
  test('answers a page with the parsed query passed to the repository', async () => {
    const { get, seen } = app()
    const response = await get('/ads?limit=50&sort=price&manufacturer=Renault')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ items: [ad], nextCursor: null })
    expect(seen).toEqual([{ sort: 'price', limit: 50, manufacturer: 'Renault' }])
  })

  test('a bad parameter is a 400 in the one error body, naming it', async () => {
    const { get, seen } = app()
    const response = await get('/ads?limit=500&sort=cheap')
    expect(response.status).toBe(400)
    const body = (await response.json()) as {
      error: { code: string; message: string; details: { field: string }[] }
    }
    expect(body.error.code).toBe('validation_failed')
    expect(body.error.message).toBe('invalid query parameter(s): sort, limit')
    expect(body.error.details.map((d) => d.field)).toEqual(['sort', 'limit'])
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(seen).toEqual([])
  })

  test('the database away → 503 with Retry-After, not a 500', async () => {
    const { get } = app({
      list: async () => {
        throw new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27117')
      },
    })
    const response = await get('/ads')
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('2')
    expect(JSON.stringify(await response.json())).not.toContain('ECONNREFUSED')
  })
})

describe('GET /ads/:id', () => {
  test('the ad of a vehicle', async () => {
    const response = await app().get(`/ads/${ad.vehicleId}`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(ad)
  })

  test('unknown vehicle → 404 as JSON', async () => {
    const response = await app().get('/ads/2f1b3c4d-0000-4000-8000-0000000000ff')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toContain('application/json')
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })

  test('not a uuid → 400 naming id', async () => {
    const response = await app().get('/ads/42')
    expect(response.status).toBe(400)
    const body = (await response.json()) as {
      error: { details: { field: string; rule: string; message: string }[] }
    }
    expect(body.error.details.map((d) => [d.field, d.rule])).toEqual([['id', 'format']])
  })
})

test('OpenAPI documents both routes and the query parameters', async () => {
  const response = await app().get('/openapi/json')
  expect(response.status).toBe(200)
  const doc = (await response.json()) as {
    paths: Record<string, { get?: { parameters?: { name: string }[] } }>
  }
  expect(Object.keys(doc.paths)).toContain('/ads')
  expect(Object.keys(doc.paths)).toContain('/ads/{id}')
  const names = doc.paths['/ads']?.get?.parameters?.map((p) => p.name) ?? []
  expect(names).toEqual(
    expect.arrayContaining(['limit', 'cursor', 'sort', 'manufacturer', 'yearFrom', 'priceMax']),
  )
})

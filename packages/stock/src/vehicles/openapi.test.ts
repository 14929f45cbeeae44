/**
 * What the stock's documents promise and what it does agree: the OpenAPI document carries every rule the
 * service enforces (uuid ids and cursors, today's year bound, the name rule, links), undeclared methods
 * answer 405, and names are judged by the contracts' rule in code points, in POST and in GET filters.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import type { ErrorBody } from '@vehicles/contracts'
import { createLogger } from '@vehicles/platform'
import { createStockApp } from '../app'
import { type Database, openPglite } from '../db/database'

let db: Database
let app: ReturnType<typeof createStockApp>

beforeAll(async () => {
  db = await openPglite('memory://')
  app = createStockApp({ db, logger: createLogger({ service: 'vehicles-stock', write: () => {} }) })
})

let serial = 0
const validBody = (over: Record<string, unknown> = {}) => ({
  vin: `1HGCM8263${String(++serial).padStart(8, '0')}`,
  manufacturer: 'Renault',
  model: 'Clio',
  year: 2021,
  odometer: 42_000,
  odometerUnit: 'km',
  ...over,
})

const call = async (path: string, init?: RequestInit) => {
  const response = await app.handle(new Request(`http://localhost${path}`, init))
  const text = await response.text()
  return { response, status: response.status, json: JSON.parse(text) as unknown }
}
const post = (body: unknown) =>
  call('/stock', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('the stock keeps the promises of its documents', () => {
  test('OpenAPI carries what the service enforces: uuid ids and cursors, the year bound of today, links', async () => {
    type Op = {
      parameters?: { name: string; in: string; schema: Record<string, unknown> }[]
      requestBody?: { content: { 'application/json': { schema: { properties: Record<string, Json> } } } }
      responses: Record<string, { links?: Record<string, { operationId: string; parameters: Json }> }>
      operationId?: string
    }
    type Json = Record<string, unknown>
    const { json } = await call('/openapi/json')
    const paths = (json as { paths: Record<string, Record<string, Op>> }).paths
    const byId = paths['/stock/{id}']?.get
    expect(byId?.parameters?.find((p) => p.name === 'id')?.schema).toMatchObject({ format: 'uuid' })
    const list = paths['/stock']?.get
    expect(list?.parameters?.find((p) => p.name === 'cursor')?.schema).toMatchObject({
      format: 'uuid',
      minLength: 36,
    })
    const year = paths['/stock']?.post?.requestBody?.content['application/json'].schema.properties.year
    expect(year?.maximum).toBe(new Date().getUTCFullYear() + 1)
    const name = paths['/stock']?.post?.requestBody?.content['application/json'].schema.properties.model
    expect(String(name?.pattern)).not.toContain('ud800')
    expect(paths['/stock']?.post?.responses['201']?.links?.GetCreatedVehicle).toEqual({
      operationId: 'getVehicle',
      parameters: { id: '$response.body#/id' },
    })
    expect(list?.responses['200']?.links?.NextPage?.parameters).toEqual({
      cursor: '$response.body#/nextCursor',
    })
    expect([byId?.operationId, list?.operationId, paths['/stock']?.post?.operationId]).toEqual([
      'getVehicle',
      'listVehicles',
      'createVehicle',
    ])
  })

  test('an undeclared method: 405 with Allow', async () => {
    const { status, response, json } = await call('/stock', { method: 'PUT' })
    expect([status, response.headers.get('allow')]).toEqual([405, 'GET, POST'])
    expect((json as ErrorBody).error.code).toBe('method_not_allowed')
  })

  test('names in the issue: NEL and a lone surrogate are 400 naming the field, nothing written', async () => {
    const before = await db.query<{ n: number }>('select count(*)::int as n from vehicles')
    for (const [field, text] of [
      ['manufacturer', '\u0085'],
      ['model', '\ud800'],
    ] as const) {
      const { status, json } = await post(validBody({ [field]: text }))
      expect(status).toBe(400)
      expect((json as ErrorBody).error.details?.map((d) => [d.field, d.rule])).toEqual([[field, 'pattern']])
    }
    const after = await db.query<{ n: number }>('select count(*)::int as n from vehicles')
    expect(after[0]?.n).toBe(before[0]?.n)
  })

  test('GET filters count code points like the contracts: 64 emoji fit, 65 do not', async () => {
    const emoji = (n: number) => encodeURIComponent('\u{1F697}'.repeat(n))
    expect((await call(`/stock?model=${emoji(64)}`)).status).toBe(200)
    const { status, json } = await call(`/stock?model=${emoji(65)}&manufacturer=%C2%85`)
    expect(status).toBe(400)
    expect((json as ErrorBody).error.details?.map((d) => `${d.field}:${d.rule}`)).toEqual([
      'manufacturer:pattern',
      'model:maxLength',
    ])
  })
})

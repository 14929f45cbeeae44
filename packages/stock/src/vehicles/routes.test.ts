import { beforeAll, describe, expect, test } from 'bun:test'
import type { ErrorBody, Vehicle } from '@vehicles/contracts'
import { createLogger } from '@vehicles/platform'
import { createStockApp } from '../app'
import { type Database, openPglite } from '../db/database'

let db: Database
let app: ReturnType<typeof createStockApp>
const logLines: string[] = []

beforeAll(async () => {
  db = await openPglite('memory://')
  app = createStockApp({
    db,
    logger: createLogger({ service: 'vehicles-stock', write: (line) => logLines.push(line) }),
    bodyLimitBytes: 2048,
  })
})

// A VIN-shaped value unique to each call (no I, O, Q), so tests never collide.
let serial = 0
const vin = () => `1HGCM8263${String(++serial).padStart(8, '0')}`
const validBody = (over: Record<string, unknown> = {}) => ({
  vin: vin(),
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
  const isJson = response.headers.get('content-type')?.startsWith('application/json') ?? false
  return { response, status: response.status, text, json: isJson ? (JSON.parse(text) as unknown) : undefined }
}
const post = (body: unknown, headers: Record<string, string> = {}) =>
  call('/stock', {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
const counts = async () => {
  const [row] = await db.query<{ vehicles: number; outbox: number }>(
    'select (select count(*)::int from vehicles) as vehicles, (select count(*)::int from outbox) as outbox',
  )
  return row
}

describe('POST /stock', () => {
  test('201 with the stored vehicle, a Location, and one outbox row with the event', async () => {
    const body = validBody({ vin: vin().toLowerCase(), manufacturer: '  Renault ' })
    const { status, json, response } = await post(body)
    expect(status).toBe(201)
    const vehicle = json as Vehicle
    expect(vehicle.vin).toBe(body.vin.toUpperCase())
    expect(vehicle.manufacturer).toBe('Renault')
    expect(response.headers.get('location')).toBe(`/stock/${vehicle.id}`)
    expect(response.headers.get('x-request-id')).toBeTruthy()
    const rows = await db.query<{
      key: string
      topic: string
      payload: { vehicle: Vehicle; eventId: string }
    }>('select key, topic, payload from outbox where aggregate_id = $1', [vehicle.id])
    expect(rows).toHaveLength(1)
    expect(rows[0]?.topic).toBe('stock.vehicle-created')
    expect(rows[0]?.key).toBe(vehicle.id)
    expect(rows[0]?.payload.vehicle).toEqual(vehicle)
  })

  test("the original system's example body: 400 naming vin and odometerUnit, nothing written", async () => {
    const before = await counts()
    const { status, json } = await post({
      vin: 'vin',
      model: 'model',
      manufacturer: 'manufacturer',
      year: 2022,
      odometer: 1000,
      odometerUnit: 'odometerUnit',
    })
    expect(status).toBe(400)
    const error = (json as ErrorBody).error
    expect(error.code).toBe('validation_failed')
    expect(error.details?.map((d) => [d.field, d.rule])).toEqual([
      ['vin', 'pattern'],
      ['odometerUnit', 'enum'],
    ])
    expect(await counts()).toEqual(before)
  })

  test('every wrong field is named with its rule', async () => {
    const { status, json } = await post({ vin: 'X', year: 1800, odometer: -1, odometerUnit: 'km', extra: 1 })
    expect(status).toBe(400)
    const fields = (json as ErrorBody).error.details?.map((d) => `${d.field}:${d.rule}`)
    expect(fields).toEqual(
      expect.arrayContaining([
        'vin:pattern',
        'manufacturer:required',
        'model:required',
        'year:minimum',
        'odometer:minimum',
        'extra:additionalProperties',
      ]),
    )
  })

  test('a year after next year is refused as maximum', async () => {
    const { status, json } = await post(validBody({ year: new Date().getUTCFullYear() + 2 }))
    expect(status).toBe(400)
    expect((json as ErrorBody).error.details).toEqual([
      expect.objectContaining({ field: 'year', rule: 'maximum' }),
    ])
  })

  test('duplicate VIN: 409, nothing written', async () => {
    const body = validBody()
    expect((await post(body)).status).toBe(201)
    const before = await counts()
    const { status, json } = await post({ ...body, vin: body.vin.toLowerCase(), odometer: 1 })
    expect(status).toBe(409)
    expect((json as ErrorBody).error.code).toBe('conflict')
    expect(await counts()).toEqual(before)
  })

  test('malformed JSON: 400, never 500, nothing written', async () => {
    const before = await counts()
    const { status, json } = await post('{"vin": "1HGCM82633A004352",')
    expect(status).toBe(400)
    expect((json as ErrorBody).error.details?.[0]?.rule).toBe('malformed_json')
    expect(await counts()).toEqual(before)
  })

  test('not JSON: 415', async () => {
    const { status, json } = await call('/stock', {
      method: 'POST',
      body: 'vin=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(status).toBe(415)
    expect((json as ErrorBody).error.code).toBe('unsupported_media_type')
  })

  test('over the body limit: 413', async () => {
    const { status, json } = await post(validBody({ model: 'x'.repeat(5000) }))
    expect(status).toBe(413)
    expect((json as ErrorBody).error.code).toBe('payload_too_large')
  })

  test('empty body: 400 naming the value', async () => {
    const { status, json } = await call('/stock', { method: 'POST' })
    expect(status).toBe(400)
    expect((json as ErrorBody).error.code).toBe('validation_failed')
  })

  test('Idempotency-Key: a retry answers the first result; another body with the key is 422', async () => {
    const key = `key-${crypto.randomUUID()}`
    const body = validBody()
    const first = await post(body, { 'idempotency-key': key })
    expect(first.status).toBe(201)
    const before = await counts()
    const again = await post(body, { 'idempotency-key': key })
    expect(again.status).toBe(201)
    expect(again.json).toEqual(first.json as Vehicle)
    expect(again.response.headers.get('location')).toBe(first.response.headers.get('location'))
    expect(again.response.headers.get('idempotency-replayed')).toBe('true')
    expect(await counts()).toEqual(before)
    const other = await post({ ...body, odometer: 7 }, { 'idempotency-key': key })
    expect(other.status).toBe(422)
    expect(await counts()).toEqual(before)
  })

  test('concurrent retries with one Idempotency-Key store one vehicle', async () => {
    const key = `key-${crypto.randomUUID()}`
    const body = validBody()
    const results = await Promise.all(Array.from({ length: 5 }, () => post(body, { 'idempotency-key': key })))
    const ids = new Set(results.map((r) => (r.json as Vehicle).id))
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201])
    expect(ids.size).toBe(1)
  })
})

describe('GET /stock', () => {
  test('pages newest first with an opaque cursor; filters by manufacturer, model and year', async () => {
    const manufacturer = `Make-${crypto.randomUUID().slice(0, 8)}`
    const created: Vehicle[] = []
    for (let i = 0; i < 7; i++) {
      const { json } = await post(validBody({ manufacturer, model: i % 2 ? 'A' : 'B', year: 2000 + i }))
      created.push(json as Vehicle)
    }
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `/stock?manufacturer=${manufacturer}&limit=3${cursor ? `&cursor=${cursor}` : ''}`
      const { status, json } = await call(query)
      expect(status).toBe(200)
      const page = json as { items: Vehicle[]; nextCursor: string | null }
      seen.push(...page.items.map((v) => v.id))
      cursor = page.nextCursor
      pages++
    } while (cursor !== null)
    expect(pages).toBe(3)
    expect(seen).toEqual(created.map((v) => v.id).reverse())

    const filtered = await call(`/stock?manufacturer=${manufacturer}&model=A&yearFrom=2002&yearTo=2005`)
    expect((filtered.json as { items: Vehicle[] }).items.map((v) => v.year)).toEqual([2005, 2003])
  })

  test('bad parameters: 400 naming each one', async () => {
    const { status, json } = await call('/stock?limit=101&cursor=nope&yearFrom=x&colour=red&limit=2')
    expect(status).toBe(400)
    const fields = (json as ErrorBody).error.details?.map((d) => `${d.field}:${d.rule}`)
    expect(fields).toEqual(
      expect.arrayContaining([
        'colour:additionalProperties',
        'limit:maxItems',
        'cursor:format',
        'yearFrom:type',
      ]),
    )
  })

  test('GET /stock/:id: the vehicle, 404 as JSON, 400 for a non-UUID', async () => {
    const { json } = await post(validBody())
    const vehicle = json as Vehicle
    expect((await call(`/stock/${vehicle.id}`)).json).toEqual(vehicle)
    const missing = await call(`/stock/${crypto.randomUUID()}`)
    expect(missing.status).toBe(404)
    expect((missing.json as ErrorBody).error.code).toBe('not_found')
    const bad = await call('/stock/123')
    expect(bad.status).toBe(400)
    expect((bad.json as ErrorBody).error.details?.[0]?.field).toBe('id')
  })
})

describe('operations', () => {
  test('unknown route: 404 JSON', async () => {
    const { status, json } = await call('/nope')
    expect(status).toBe(404)
    expect((json as ErrorBody).error.code).toBe('not_found')
  })

  test('OpenAPI document lists the routes with the contracts schemas', async () => {
    const { status, json } = await call('/openapi/json')
    expect(status).toBe(200)
    const doc = json as { paths: Record<string, Record<string, { requestBody?: unknown }>> }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/stock', '/stock/{id}', '/health/ready']))
    expect(JSON.stringify(doc.paths['/stock']?.post?.requestBody)).toContain('"odometerUnit"')
  })

  test('/metrics counts requests by route and status', async () => {
    await call('/stock/123')
    await Bun.sleep(5)
    const { text } = await call('/metrics')
    expect(text).toMatch(/http_requests_total\{[^}]*route="\/stock\/:id"[^}]*status="400"[^}]*\} \d+/)
  })

  test('access log lines are JSON with the request id', async () => {
    await call('/stock/123', { headers: { 'x-request-id': 'req-abc' } })
    await Bun.sleep(5)
    const line = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === 'req-abc')
    expect(line).toMatchObject({
      level: 'info',
      service: 'vehicles-stock',
      event: 'http.request',
      status: 400,
    })
    expect(typeof line?.time).toBe('string')
  })
})

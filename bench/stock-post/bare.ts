/**
 * The bare reference of the POST /stock benchmark (not part of the system): `Bun.serve` and postgres.js
 * doing the same database work as vehicles-stock — the same single statement (vehicle + outbox row +
 * NOTIFY, `on conflict (vin) do nothing`), prepared, on a pool of the same size — with no validation, no
 * framework, no logging, no metrics. What vehicles-stock costs above this is the price of its HTTP layer.
 *
 * `bun bench/stock-post/bare.ts --port 3901 --database-url postgres://… --pool 10`
 * Also `GET /stock?limit=50`: the newest page, by the same keyset query.
 */
// Straight from the package (not the testing barrel, which would also load the MongoDB and Kafka clients).
import postgres from '../../packages/testing/node_modules/postgres'
import { intArg, stringArg } from '../lib/args'

const port = intArg('port', 3901, 1, 65_535)
const pool = intArg('pool', 10, 1, 200)
const databaseUrl = stringArg('database-url')
if (databaseUrl === undefined || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
  console.error('--database-url: a postgres:// URL is required')
  process.exit(2)
}

const sql = postgres(databaseUrl, { max: pool, prepare: true, onnotice: () => {} })

const INSERT = `with v as (
    insert into vehicles (id, vin, manufacturer, model, year, odometer, odometer_unit, created_at)
    values ($1::uuid, $2, $3, $4, $5::int, $6::int, $7, $8::timestamptz)
    on conflict (vin) do nothing
    returning id
  ), o as (
    insert into outbox (event_id, aggregate_type, aggregate_id, event_type, topic, key, payload, headers)
    select $9::uuid, $10, $11::uuid, $12, $13, $14, $15::jsonb, $16::jsonb from v
    returning id
  )
  select count(*)::int as inserted, (select pg_notify('outbox', '') from o limit 1) is null as notified
  from v`

const LIST = `select id, vin, manufacturer, model, year, odometer, odometer_unit as "odometerUnit",
    created_at as "createdAt"
  from vehicles order by id desc limit $1`

const TOPIC = 'stock.vehicle-created'

interface Body {
  vin: string
  manufacturer: string
  model: string
  year: number
  odometer: number
  odometerUnit: string
}

async function create(body: Body): Promise<Response> {
  const createdAt = new Date().toISOString()
  const vehicle = { id: Bun.randomUUIDv7(), ...body, createdAt }
  const eventId = crypto.randomUUID()
  const headers = { 'event-id': eventId, 'event-type': TOPIC, 'content-type': 'application/json' }
  const rows = await sql.unsafe<{ inserted: number }[]>(
    INSERT,
    [
      vehicle.id,
      vehicle.vin,
      vehicle.manufacturer,
      vehicle.model,
      vehicle.year,
      vehicle.odometer,
      vehicle.odometerUnit,
      createdAt,
      eventId,
      'vehicle',
      vehicle.id,
      TOPIC,
      TOPIC,
      vehicle.id,
      JSON.stringify({ eventId, occurredAt: createdAt, vehicle }),
      JSON.stringify(headers),
    ],
    { prepare: true },
  )
  if (rows[0]?.inserted !== 1) return Response.json({ error: 'duplicate vin' }, { status: 409 })
  return Response.json(vehicle, { status: 201, headers: { location: `/stock/${vehicle.id}` } })
}

async function list(limit: number): Promise<Response> {
  const rows = await sql.unsafe<{ id: string; createdAt: Date }[]>(LIST, [limit + 1], { prepare: true })
  const items = rows.slice(0, limit).map((row) => ({ ...row, createdAt: row.createdAt.toISOString() }))
  const last = items.at(-1)
  const nextCursor =
    rows.length > limit && last !== undefined
      ? Buffer.from(JSON.stringify({ v: 1, id: last.id })).toString('base64url')
      : null
  return Response.json({ items, nextCursor })
}

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  reusePort: false,
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname !== '/stock') return new Response('not found', { status: 404 })
    if (request.method === 'POST') return create((await request.json()) as Body)
    if (request.method === 'GET') return list(Number(url.searchParams.get('limit') ?? 20))
    return new Response('method not allowed', { status: 405 })
  },
})
console.log(JSON.stringify({ event: 'listening', port }))
process.on('SIGTERM', async () => {
  await server.stop()
  await sql.end({ timeout: 5 })
  process.exit(0)
})

/**
 * Vehicles in PostgreSQL (or PGlite). The write is one statement: vehicle, outbox row, idempotency
 * record and NOTIFY, so it is atomic and costs one round trip. A VIN already in stock inserts nothing
 * (`on conflict do nothing`) and is reported as such, not as an exception.
 */
import type { Vehicle } from '@vehicles/contracts'
import { ConflictError, ServiceUnavailableError, ValidationFailedError } from '@vehicles/platform'
import { eq } from 'drizzle-orm'
import type { Database, Row } from '../db/database'
import { isInvalidText, isUnavailable, sqlState, unstorableField } from '../db/errors'
import { vehicles } from '../db/schema'
import { enqueueCte, OUTBOX_CHANNEL, type OutboxEntry } from '../outbox/enqueue'
import type { ListQuery } from './model'

export interface IdempotencyRecord {
  key: string
  requestHash: string
  status: number
  body: unknown
}

export type InsertOutcome = 'inserted' | 'duplicate_vin'

/**
 * Runs a database call so that no database error reaches the client as a 500: text PostgreSQL cannot
 * store is a 400 naming the field (from `input`, the values that went into the statement); a unique
 * violation nobody handled is a 409; everything else the database or its driver says (unreachable,
 * restarting, out of connections, or a code this service does not expect) is a 503 with Retry-After.
 * Errors without a code are this service's own bugs and stay 500s, logged by the platform.
 */
async function guarded<T>(work: () => Promise<T>, input: Readonly<Record<string, unknown>> = {}): Promise<T> {
  try {
    return await work()
  } catch (error) {
    const code = sqlState(error)
    if (code === undefined) throw error
    if (isInvalidText(error)) {
      throw new ValidationFailedError(
        [{ field: unstorableField(input), rule: 'encoding', message: 'is text the database cannot store' }],
        'the request holds text that cannot be stored',
      )
    }
    if (isUnavailable(error)) throw new ServiceUnavailableError('the database is unavailable; retry later', 2)
    if (code.startsWith('23')) {
      // The cause stays attached: the service tells an idempotency-key race (23505 on its key) apart.
      throw Object.assign(new ConflictError('the request conflicts with stored data'), { cause: error })
    }
    throw new ServiceUnavailableError(`the database refused the request (${code}); retry later`, 2)
  }
}

const VEHICLE_COLUMNS = 'id, vin, manufacturer, model, year, odometer, odometer_unit, created_at'
// createdAt as ISO text made by PostgreSQL: drizzle installs its own date parsers on the postgres.js
// client, so what a raw query returns for timestamptz depends on the driver; this does not.
const SELECT_VEHICLE = `id::text as id, vin, manufacturer, model, year, odometer, odometer_unit as "odometerUnit",
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt"`

function insertStatement(vehicle: Vehicle, entry: OutboxEntry, idempotency?: IdempotencyRecord) {
  // $1…$8 in the order of VEHICLE_COLUMNS.
  const { id, vin, manufacturer, model, year, odometer, odometerUnit, createdAt } = vehicle
  const params: unknown[] = [id, vin, manufacturer, model, year, odometer, odometerUnit, createdAt]
  const outbox = enqueueCte('v', params.length + 1, entry)
  params.push(...outbox.params)
  let idempotencyCte = ''
  if (idempotency !== undefined) {
    const first = params.length + 1
    idempotencyCte = `, i as (
      insert into idempotency_keys (key, request_hash, status, body, created_at)
      select $${first}, $${first + 1}, $${first + 2}::int, $${first + 3}::jsonb, $8::timestamptz from v
      returning key
    )`
    params.push(
      idempotency.key,
      idempotency.requestHash,
      idempotency.status,
      JSON.stringify(idempotency.body),
    )
  }
  // Data-modifying CTEs always run; the final select is what NOTIFYs (once, only if a row was enqueued).
  const text = `with v as (
    insert into vehicles (${VEHICLE_COLUMNS})
    values ($1::uuid, $2, $3, $4, $5::int, $6::int, $7, $8::timestamptz)
    on conflict (vin) do nothing
    returning id
  ), ${outbox.text}${idempotencyCte}
  select count(*)::int as inserted, (select pg_notify('${OUTBOX_CHANNEL}', '') from o limit 1) is null as notified
  from v`
  return { text, params }
}

/**
 * A vehicles row as the two reads return it: the contract's Vehicle, except that odometerUnit is plain
 * text and createdAt a Date from drizzle's mapping or ISO text from the raw page query.
 */
type VehicleRow = Omit<Vehicle, 'odometerUnit' | 'createdAt'> & {
  odometerUnit: string
  createdAt: Date | string
}

const toVehicle = (row: VehicleRow): Vehicle => ({
  id: row.id,
  vin: row.vin,
  manufacturer: row.manufacturer,
  model: row.model,
  year: row.year,
  odometer: row.odometer,
  odometerUnit: row.odometerUnit as Vehicle['odometerUnit'],
  createdAt: typeof row.createdAt === 'string' ? row.createdAt : row.createdAt.toISOString(),
})

/**
 * The page query as SQL rather than drizzle's builder: it is the hot read path, and a fixed text per
 * combination of filters (at most 32) is prepared once per connection by postgres.js.
 */
function listStatement(query: ListQuery) {
  const conditions: string[] = []
  const params: unknown[] = []
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    params.push(value)
    conditions.push(condition(`$${params.length}`))
  }
  if (query.before !== undefined) add((p) => `id < ${p}::uuid`, query.before)
  if (query.manufacturer !== undefined) add((p) => `manufacturer = ${p}`, query.manufacturer)
  if (query.model !== undefined) add((p) => `model = ${p}`, query.model)
  if (query.yearFrom !== undefined) add((p) => `year >= ${p}::int`, query.yearFrom)
  if (query.yearTo !== undefined) add((p) => `year <= ${p}::int`, query.yearTo)
  // One row more than asked tells whether there is a next page.
  params.push(query.limit + 1)
  // `vehicles.id`, not `id`: in ORDER BY a bare `id` is the output alias `id::text`, which cannot use
  // the primary key index and sorts the whole table on every page.
  const where = conditions.length === 0 ? '' : `where ${conditions.join(' and ')}`
  const text = `select ${SELECT_VEHICLE} from vehicles ${where} order by vehicles.id desc limit $${params.length}::int`
  return { text, params }
}

export interface VehicleRepository {
  insert(vehicle: Vehicle, entry: OutboxEntry, idempotency?: IdempotencyRecord): Promise<InsertOutcome>
  findIdempotency(key: string): Promise<IdempotencyRecord | undefined>
  findById(id: string): Promise<Vehicle | undefined>
  list(query: ListQuery): Promise<Vehicle[]>
}

export function createVehicleRepository(db: Database): VehicleRepository {
  return {
    insert: (vehicle, entry, idempotency) =>
      guarded(async () => {
        const { text, params } = insertStatement(vehicle, entry, idempotency)
        const rows = await db.query<{ inserted: number }>(text, params)
        return rows[0]?.inserted === 1 ? 'inserted' : 'duplicate_vin'
      }, vehicle),

    findIdempotency: (key) =>
      guarded(
        async () => {
          const rows = await db.query<{ key: string; request_hash: string; status: number; body: unknown }>(
            'select key, request_hash, status, body from idempotency_keys where key = $1',
            [key],
          )
          const row = rows[0]
          return row === undefined
            ? undefined
            : { key: row.key, requestHash: row.request_hash, status: row.status, body: row.body }
        },
        { 'Idempotency-Key': key },
      ),

    findById: (id) =>
      guarded(async () => {
        const rows = await db.orm.select().from(vehicles).where(eq(vehicles.id, id)).limit(1)
        const row = rows[0]
        return row === undefined ? undefined : toVehicle(row)
      }),

    list: (query) =>
      guarded(
        async () => {
          const { text, params } = listStatement(query)
          const rows = await db.query<VehicleRow & Row>(text, params)
          return rows.map(toVehicle)
        },
        { ...query },
      ),
  }
}

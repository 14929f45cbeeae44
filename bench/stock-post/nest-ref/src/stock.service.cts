/**
 * The work of POST /stock and GET /stock through node-postgres: the very statement vehicles-stock sends
 * (vehicle + outbox row + NOTIFY in one statement, `on conflict (vin) do nothing`), as a named (prepared)
 * query, so the database does the same work for every candidate and only the stack above it differs.
 */
import { randomUUID } from 'node:crypto'
import { ConflictException, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common'
import type { Pool } from 'pg'
import type { CreateVehicleDto } from './create-vehicle.dto.cjs'
import { uuidv7 } from './uuid.cjs'

export const POOL = Symbol('pg pool')

export interface Vehicle {
  id: string
  vin: string
  manufacturer: string
  model: string
  year: number
  odometer: number
  odometerUnit: string
  createdAt: string
}

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

@Injectable()
export class StockService implements OnModuleDestroy {
  constructor(@Inject(POOL) private readonly pool: Pool) {}

  async create(dto: CreateVehicleDto): Promise<Vehicle> {
    const createdAt = new Date().toISOString()
    const vehicle: Vehicle = {
      id: uuidv7(),
      vin: dto.vin.toUpperCase(),
      manufacturer: dto.manufacturer.trim(),
      model: dto.model.trim(),
      year: dto.year,
      odometer: dto.odometer,
      odometerUnit: dto.odometerUnit,
      createdAt,
    }
    const eventId = randomUUID()
    const event = { eventId, occurredAt: createdAt, vehicle }
    const headers = { 'event-id': eventId, 'event-type': TOPIC, 'content-type': 'application/json' }
    const result = await this.pool.query<{ inserted: number }>({
      name: 'insert-vehicle',
      text: INSERT,
      values: [
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
        JSON.stringify(event),
        JSON.stringify(headers),
      ],
    })
    if (result.rows[0]?.inserted !== 1)
      throw new ConflictException(`a vehicle with VIN ${vehicle.vin} is already in stock`)
    return vehicle
  }

  async list(limit: number): Promise<{ items: Vehicle[]; nextCursor: string | null }> {
    const result = await this.pool.query<Omit<Vehicle, 'createdAt'> & { createdAt: Date }>({
      name: 'list-vehicles',
      text: LIST,
      values: [limit + 1],
    })
    const items = result.rows
      .slice(0, limit)
      .map((row) => ({ ...row, createdAt: row.createdAt.toISOString() }))
    const last = items.at(-1)
    return {
      items,
      nextCursor:
        result.rows.length > limit && last !== undefined
          ? Buffer.from(JSON.stringify({ v: 1, id: last.id })).toString('base64url')
          : null,
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end()
  }
}

/**
 * The tables of vehicles-stock. `drizzle-kit generate` turns this file into the SQL migrations in
 * `drizzle/`, which are committed with their meta journal and applied at start (`src/db/migrate.ts`).
 */
import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

/** One row per vehicle in stock. `id` is a UUID v7 (time-ordered), which is also the listing order. */
export const vehicles = pgTable(
  'vehicles',
  {
    id: uuid('id').primaryKey(),
    vin: text('vin').notNull(),
    manufacturer: text('manufacturer').notNull(),
    model: text('model').notNull(),
    year: integer('year').notNull(),
    odometer: integer('odometer').notNull(),
    odometerUnit: text('odometer_unit').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('vehicles_vin_key').on(t.vin),
    index('vehicles_manufacturer_model_id_idx').on(t.manufacturer, t.model, t.id),
    index('vehicles_year_id_idx').on(t.year, t.id),
    check('vehicles_odometer_unit_check', sql`${t.odometerUnit} in ('km', 'mi')`),
  ],
)

/**
 * Transactional outbox: written in the same statement as the vehicle, read by the relay in `id` order.
 * The payload is the event as JSON; it is wire-encoded (schema id) only when relayed.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    eventId: uuid('event_id').notNull(),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: uuid('aggregate_id').notNull(),
    eventType: text('event_type').notNull(),
    topic: text('topic').notNull(),
    key: text('key').notNull(),
    payload: jsonb('payload').notNull(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** Set when a row can never be sent (it breaks its schema): kept for operators, no longer relayed. */
    failedAt: timestamp('failed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('outbox_event_id_key').on(t.eventId),
    // The relay's scan: pending rows in id order (one sender at a time, so no per-aggregate probe).
    index('outbox_pending_idx').on(t.id).where(sql`${t.sentAt} is null and ${t.failedAt} is null`),
    // Pruning of sent rows by age.
    index('outbox_sent_at_idx').on(t.sentAt).where(sql`${t.sentAt} is not null`),
  ],
)

/**
 * Per topic partition, where the relay's next read-back starts: after the last record of a committed
 * transaction whose rows are marked sent (advanced, never moved back, in the statement that marks
 * them). Records past it may be the relay's own whose marks were lost; after a failure or a takeover
 * the relay reads them back under read_committed and marks the rows named by their id header.
 */
export const outboxRelayOffsets = pgTable(
  'outbox_relay_offsets',
  {
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    nextOffset: bigint('next_offset', { mode: 'bigint' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition] })],
)

/** First result of each `Idempotency-Key`, so a retried POST answers the same. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    key: text('key').primaryKey(),
    requestHash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    body: jsonb('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('idempotency_keys_created_at_idx').on(t.createdAt)],
)

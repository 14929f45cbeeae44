import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createLogger, Registry } from '@vehicles/platform'
import { type Database, openPglite } from '../db/database'
import { createPruner } from './prune'

let db: Database
beforeAll(async () => {
  db = await openPglite('memory://')
})
afterAll(async () => {
  await db.close()
})

async function outboxRow(sentAgo: string | null, failed = false) {
  const id = crypto.randomUUID()
  await db.query(
    `insert into outbox (event_id, aggregate_type, aggregate_id, event_type, topic, key, payload, headers, sent_at, failed_at)
     values ($1::uuid, 'vehicle', $2::uuid, 't', 't', $2::text, '{}', '{}',
             case when $3::text is null then null else now() - $3::interval end,
             case when $4::boolean then now() - interval '30 days' else null end)`,
    [crypto.randomUUID(), id, sentAgo, failed],
  )
  return id
}

test('deletes sent rows and idempotency keys past retention; keeps pending, failed and recent rows', async () => {
  const oldSent = await outboxRow('2 days')
  const recentSent = await outboxRow('1 hour')
  const pending = await outboxRow(null)
  const failed = await outboxRow(null, true)
  await db.query(
    `insert into idempotency_keys (key, request_hash, status, body, created_at) values
     ('old', 'h', 201, '{}', now() - interval '2 days'), ('new', 'h', 201, '{}', now())`,
  )
  const lines: string[] = []
  const pruner = createPruner({
    db,
    logger: createLogger({ service: 't', write: (l) => lines.push(l) }),
    registry: new Registry(),
    outboxRetentionMs: 86_400_000,
    idempotencyRetentionMs: 86_400_000,
    intervalMs: 60_000,
  })
  expect(await pruner.pruneOnce()).toEqual({ outbox: 1, idempotencyKeys: 1 })
  const left = await db.query<{ key: string }>('select key from outbox order by id')
  expect(left.map((r) => r.key)).toEqual([recentSent, pending, failed])
  expect(left.map((r) => r.key)).not.toContain(oldSent)
  const keys = await db.query<{ key: string }>('select key from idempotency_keys')
  expect(keys.map((r) => r.key)).toEqual(['new'])
  expect(lines.some((l) => l.includes('outbox.pruned'))).toBe(true)
  expect(await pruner.pruneOnce()).toEqual({ outbox: 0, idempotencyKeys: 0 })
})

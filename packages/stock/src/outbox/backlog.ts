/** How far behind the relay is: pending rows and the age of the oldest, for /metrics and /health/ready. */
import { Gauge, type Registry } from '@vehicles/platform'
import type { Database } from '../db/database'

export interface Backlog {
  pending: number
  oldestPendingAgeSeconds: number
}

// The predicate of the partial index outbox_pending_idx: only pending rows are read, never the sent ones.
const BACKLOG = `select count(*)::int as pending,
    coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
  from outbox where sent_at is null and failed_at is null`

export async function readBacklog(db: Database): Promise<Backlog> {
  const [row] = await db.query<{ pending: number; age: number }>(BACKLOG)
  return { pending: row?.pending ?? 0, oldestPendingAgeSeconds: row?.age ?? 0 }
}

/** Gauges read at scrape time (one indexed query per scrape). */
export function registerBacklogMetrics(db: Database, registry: Registry): void {
  let last: Promise<Backlog> | undefined
  // One query per scrape even though two gauges read it.
  const read = () => {
    last ??= readBacklog(db).finally(() => setTimeout(() => (last = undefined), 100))
    return last
  }
  new Gauge({
    name: 'outbox_backlog',
    help: 'outbox rows not yet sent to Kafka',
    registers: [registry],
    async collect() {
      this.set((await read().catch(() => undefined))?.pending ?? Number.NaN)
    },
  })
  new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'age of the oldest outbox row not yet sent (0 when none)',
    registers: [registry],
    async collect() {
      this.set((await read().catch(() => undefined))?.oldestPendingAgeSeconds ?? Number.NaN)
    },
  })
}

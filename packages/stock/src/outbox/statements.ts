/**
 * The relay's SQL: reading pending rows, and every statement that changes relay state (marks, failures,
 * attempts, offsets). Each of the latter carries the leadership condition (`leaderCte`) inside itself
 * and reports whether it held, so a deposed relay changes nothing and learns it from the answer.
 *
 * What these statements record is only ever a fact about Kafka: a row is marked sent when a committed
 * transaction holds its record (acknowledged commit, or found by reading back), and a partition's
 * offset only moves forward (`greatest`). So even a statement that passed its leadership check just
 * before its session died cannot make a later leader lose or repeat a row.
 */
import type { Sql } from '../db/database'
import { LeadershipLost, leaderCte } from './leadership'

export interface PendingRow {
  id: string
  topic: string
  key: string
  payload: unknown
  headers: Record<string, string>
  pid: number
}

export interface PartitionOffset {
  topic: string
  partition: number
  next: bigint
}

// Pending rows after the cursor, in id order (partial index outbox_pending_idx). The backend pid shows
// whether the read ran on the leader session or on a connection the client opened silently after
// losing it. Reading changes nothing, so it needs no leadership condition of its own. The order is
// by the column, qualified: a bare `order by id` would sort by the text output column ('14' > '134').
const READ_PENDING = `select outbox.id::text as id, topic, key, payload, headers, pg_backend_pid() as pid
  from outbox
  where sent_at is null and failed_at is null and outbox.id > $1::bigint
  order by outbox.id
  limit $2`

// Rows whose records a committed transaction holds: marked sent (or deleted when sent rows are not
// kept: a delete only stamps the old tuple, where the update writes a new one and its index entries),
// and the partitions' read-back offsets moved forward. One statement: all or nothing.
const markSent = (keep: boolean) => `with ${leaderCte(1)},
  m as (
    ${keep ? 'update outbox set sent_at = now(), attempts = attempts + 1, last_error = null' : 'delete from outbox'}
    where id = any($2::bigint[]) and sent_at is null and exists (select 1 from leader)
    returning 1
  ), o as (
    insert into outbox_relay_offsets (topic, partition, next_offset)
    select * from unnest($3::text[], $4::int[], $5::bigint[]) where exists (select 1 from leader)
    on conflict (topic, partition) do update
      set next_offset = greatest(outbox_relay_offsets.next_offset, excluded.next_offset)
  )
  select exists (select 1 from leader) as leads, (select count(*) from m)::int as marked`

// The first send to a topic records its current last stable offsets: nothing of ours is before them.
const INIT_OFFSETS = `with ${leaderCte(1)}, o as (
    insert into outbox_relay_offsets (topic, partition, next_offset)
    select * from unnest($2::text[], $3::int[], $4::bigint[]) where exists (select 1 from leader)
    on conflict (topic, partition) do nothing
  )
  select exists (select 1 from leader) as leads`

const MARK_FAILED = `with ${leaderCte(1)}, m as (
    update outbox set failed_at = now(), attempts = attempts + 1, last_error = $3
    where id = $2::bigint and exists (select 1 from leader)
  )
  select exists (select 1 from leader) as leads`

const NOTE_ATTEMPT = `with ${leaderCte(1)}, m as (
    update outbox set attempts = attempts + 1, last_error = $3
    where id = any($2::bigint[]) and sent_at is null and exists (select 1 from leader)
  )
  select exists (select 1 from leader) as leads`

const RECORDED = `select topic, partition, next_offset::text as next from outbox_relay_offsets order by topic, partition`

const KNOWN_TOPICS = 'select distinct topic from outbox_relay_offsets'

function mustLead(rows: { leads: boolean }[], what: string): void {
  if (rows[0]?.leads !== true)
    throw new LeadershipLost(`${what}: the leader session no longer holds the lock; nothing was changed`)
}

const columns = (offsets: readonly PartitionOffset[]) => [
  offsets.map((o) => o.topic),
  offsets.map((o) => o.partition),
  offsets.map((o) => o.next.toString()),
]

/** The relay's statements, bound to the sent-rows policy. `pid` is the leader session's backend pid. */
export function relayStatements(keepSentRows: boolean) {
  const MARK_SENT = markSent(keepSentRows)
  return {
    readPending: (conn: Sql, cursor: string, limit: number) =>
      conn.query<PendingRow & Record<string, unknown>>(READ_PENDING, [cursor, limit]),

    /** Marks `ids` sent and moves the offsets forward; resolves to the number of rows marked. */
    async markSent(sql: Sql, pid: number, ids: readonly string[], offsets: readonly PartitionOffset[]) {
      const rows = await sql.query<{ leads: boolean; marked: number }>(MARK_SENT, [
        pid,
        ids,
        ...columns(offsets),
      ])
      mustLead(rows, 'mark sent')
      return rows[0]?.marked ?? 0
    },

    async initOffsets(sql: Sql, pid: number, offsets: readonly PartitionOffset[]) {
      mustLead(await sql.query(INIT_OFFSETS, [pid, ...columns(offsets)]), 'record first offsets')
    },

    async markFailed(sql: Sql, pid: number, id: string, reason: string) {
      mustLead(await sql.query(MARK_FAILED, [pid, id, reason]), 'mark failed')
    },

    async noteAttempt(sql: Sql, pid: number, ids: readonly string[], error: string) {
      mustLead(await sql.query(NOTE_ATTEMPT, [pid, ids, error]), 'note attempt')
    },

    async recorded(sql: Sql): Promise<PartitionOffset[]> {
      const rows = await sql.query<{ topic: string; partition: number; next: string }>(RECORDED)
      return rows.map((r) => ({ topic: r.topic, partition: r.partition, next: BigInt(r.next) }))
    },

    async knownTopics(sql: Sql): Promise<Set<string>> {
      return new Set((await sql.query<{ topic: string }>(KNOWN_TOPICS)).map((r) => r.topic))
    },
  }
}

export type RelayStatements = ReturnType<typeof relayStatements>

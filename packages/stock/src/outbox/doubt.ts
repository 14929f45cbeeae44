/**
 * Rows "in doubt": read by the leading relay and possibly handed to Kafka, but not marked sent (the
 * process died, the database went away before the mark, or a send failed with its outcome unknown,
 * e.g. the Kafka module's delivery deadline passed while the request was in flight). Sending them again
 * blindly is how an acknowledged event gets written twice, so the relay first asks the topic.
 *
 * Why the topic can answer without reading it back: one relay at a time writes the outbox's topics
 * (the leader lock), in read order, with an idempotent producer, so on each partition the records of
 * the rows in doubt that were written are a prefix of them, in send order, right after the offset the
 * relay recorded with its last marked batch. `end offset - recorded offset` = how many of that
 * partition's rows in doubt were written: those are marked sent, the rest are sent again.
 *
 * This holds only while nothing else writes these topics and nothing of ours is still in flight (the
 * caller closed the failed client, and a new leader waits out the old one's delivery deadline). When
 * the numbers cannot be explained (more records than rows in doubt, or fewer than recorded), the rows are
 * sent again and the possible duplicate is logged and counted: consumers deduplicate by event id.
 */
import type { Logger } from '@vehicles/platform'
import type { Sql } from '../db/database'
import type { Publisher } from './publisher'

export interface DoubtOutcome {
  /** Rows found written on the topic: marked sent, not sent again. */
  written: number
  /** Rows left pending: not written, sent again by the relay. */
  notWritten: number
  /** Rows sent again although they may be on the topic already (the numbers did not add up). */
  unexplained: number
}

const INFLIGHT = 'select seq::text as seq, ids::text[] as ids from outbox_relay_inflight order by seq'

const DOUBTFUL = `select id::text as id, topic, key from outbox
  where id = any($1::bigint[]) and sent_at is null and failed_at is null`

const RECORDED = `select topic, partition, next_offset::text as next from outbox_relay_offsets
  where topic = any($1::text[])`

const RESOLVE = `with m as (
    update outbox set sent_at = now(), attempts = attempts + 1, last_error = null
    where id = any($1::bigint[])
  ), d as (
    delete from outbox_relay_inflight where seq <= $2::bigint
  )
  insert into outbox_relay_offsets (topic, partition, next_offset)
  select * from unnest($3::text[], $4::int[], $5::bigint[])
  on conflict (topic, partition) do update set next_offset = excluded.next_offset`

export const INIT_OFFSETS = `insert into outbox_relay_offsets (topic, partition, next_offset)
  select * from unnest($1::text[], $2::int[], $3::bigint[])
  on conflict (topic, partition) do nothing`

/** Tells written from not written among the rows in doubt and records it (one statement). */
export async function resolveDoubt(conn: Sql, publisher: Publisher, logger: Logger): Promise<DoubtOutcome> {
  const outcome: DoubtOutcome = { written: 0, notWritten: 0, unexplained: 0 }
  const batches = await conn.query<{ seq: string; ids: string[] }>(INFLIGHT)
  const last = batches.at(-1)
  if (last === undefined) return outcome
  // Send order: batch by batch, id order inside a batch.
  const order = new Map<string, number>()
  for (const batch of batches) for (const id of batch.ids) order.set(id, order.size)
  const rows = (
    await conn.query<{ id: string; topic: string; key: string }>(DOUBTFUL, [[...order.keys()]])
  ).sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
  const topics = [...new Set(rows.map((r) => r.topic))]
  const written: string[] = []
  const offsets: { topic: string; partition: number; next: bigint }[] = []
  if (topics.length > 0) {
    const ends = await publisher.endOffsets(topics)
    const recorded = new Map<string, bigint>()
    for (const r of await conn.query<{ topic: string; partition: number; next: string }>(RECORDED, [topics]))
      recorded.set(`${r.topic}:${r.partition}`, BigInt(r.next))
    for (const topic of topics) {
      const partitionEnds = ends.get(topic) ?? []
      const byPartition = new Map<number, string[]>()
      for (const row of rows) {
        if (row.topic !== topic) continue
        const p = publisher.partitionFor(row.key, partitionEnds.length)
        byPartition.set(p, [...(byPartition.get(p) ?? []), row.id])
      }
      for (const [partition, end] of partitionEnds.entries()) {
        const ids = byPartition.get(partition) ?? []
        // No recorded offset: the relay never sent to this topic (it records the end offsets before its
        // first send to a topic), so nothing of these rows can be on it.
        const from = recorded.get(`${topic}:${partition}`) ?? end
        const appended = end - from
        if (appended >= 0n && appended <= BigInt(ids.length)) {
          const n = Number(appended)
          written.push(...ids.slice(0, n))
          outcome.written += n
          outcome.notWritten += ids.length - n
        } else if (ids.length > 0) {
          outcome.unexplained += ids.length
          logger.error(
            'outbox.relay.doubt_unexplained',
            'cannot tell which rows in doubt are on the topic: sending them again (possible duplicates, consumers deduplicate by event id)',
            { topic, partition, recorded: from.toString(), end: end.toString(), rowsInDoubt: ids.length },
          )
        }
        offsets.push({ topic, partition, next: end })
      }
    }
  }
  await conn.query(RESOLVE, [
    written,
    last.seq,
    offsets.map((o) => o.topic),
    offsets.map((o) => o.partition),
    offsets.map((o) => o.next.toString()),
  ])
  if (rows.length > 0)
    logger.warn('outbox.relay.doubt_resolved', 'rows in doubt checked against the topic', { ...outcome })
  return outcome
}

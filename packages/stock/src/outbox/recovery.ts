/**
 * Recovery: after any failure and on every takeover, before anything is sent, find out which pending
 * rows Kafka already holds, by identification: read every partition back under read_committed from the
 * offset recorded with the last marked transaction up to its last stable offset, collect the
 * `outbox-id` headers found there, and mark exactly those rows sent (with the offsets moved to where
 * the read ended, in the same statement, under the leadership condition). Every other pending row is
 * sent again.
 *
 * Why what is read back is final: the caller opens a new producer session first. Its init bumps the
 * outbox's transactional id to a new epoch, and the transaction coordinator answers it only once every
 * transaction of the older epochs is complete (a commit already requested is finished, anything else
 * aborted), with its markers on the partitions. From then on the partition leaders refuse the older
 * epochs' appends, however late they arrive (a request held up in a stopped broker, a deposed leader
 * still running). So every record of ours that will ever be committed below the new session's own
 * records is committed now, below the last stable offset, and is found.
 *
 * That is also why a new leader need not wait before taking over: the old leader's sends cannot land
 * after the new session's init, whenever it read its rows and however long its delivery deadline.
 */
import type { Sql } from '../db/database'
import type { Publisher } from './publisher'
import type { PartitionOffset, RelayStatements } from './statements'

export interface RecoveryOutcome {
  /** Rows found on the topics by their id header and marked sent (not sent again). */
  found: number
  /** Records read back (ours and anyone else's) between the recorded and the stable offsets. */
  readBack: number
}

/**
 * Reads back from the recorded offsets of every topic the relay has written and marks the rows found.
 * `sql`/`pid`: where the mark runs and the leader session it is conditional on.
 */
export async function recover(
  sql: Sql,
  pid: number,
  publisher: Publisher,
  statements: RelayStatements,
): Promise<RecoveryOutcome> {
  const recorded = await statements.recorded(sql)
  if (recorded.length === 0) return { found: 0, readBack: 0 }
  const topics = [...new Set(recorded.map((r) => r.topic))]
  const stable = await publisher.endOffsets(topics)
  const ids = new Set<string>()
  const reached: PartitionOffset[] = []
  let readBack = 0
  for (const { topic, partition, next } of recorded) {
    const end = stable.get(topic)?.[partition]
    if (end === undefined || end <= next) continue
    const records = await publisher.readBack(topic, partition, next.toString())
    readBack += records.length
    for (const record of records) if (record.outboxId !== undefined) ids.add(record.outboxId)
    // The read covered everything below `end` that will ever be readable there (see above).
    reached.push({ topic, partition, next: end })
  }
  if (reached.length === 0) return { found: 0, readBack }
  const found = await statements.markSent(sql, pid, [...ids], reached)
  return { found, readBack }
}

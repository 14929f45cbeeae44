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
 * One more condition: read_committed stops at the last stable offset, which another writer's open
 * transaction on the partition holds back (records of ours committed after its start stay invisible
 * until it ends). So the read waits until every partition's stable offset has reached the high
 * watermark seen after the init: from then on everything of ours is readable. On a topic the relay
 * alone writes the two are equal at once; otherwise the wait is bounded by the other writer's
 * transaction timeout, and a wait that runs out fails the recovery (retried after a back-off).
 *
 * That is also why a new leader need not wait before taking over: the old leader's sends cannot land
 * after the new session's init, whenever it read its rows and however long its delivery deadline.
 */
import type { Sql } from '../db/database'
import type { PartitionEnd, Publisher } from './publisher'
import type { PartitionOffset, RelayStatements } from './statements'

export interface RecoveryOutcome {
  /** Rows found on the topics by their id header and marked sent (not sent again). */
  found: number
  /** Records read back (ours and anyone else's) between the recorded and the stable offsets. */
  readBack: number
}

/** How long recovery waits for other writers' open transactions (Kafka's default timeout is 60 s). */
const STABLE_WAIT_MS = 70_000
const STABLE_POLL_MS = 200

/**
 * The partitions' ends once every stable offset has reached the high watermark of the first look;
 * throws when another writer's transaction keeps one below it for `STABLE_WAIT_MS`.
 */
async function settledEnds(publisher: Publisher, topics: string[]): Promise<Map<string, PartitionEnd[]>> {
  const first = await publisher.endOffsets(topics)
  const deadline = Date.now() + STABLE_WAIT_MS
  for (let ends = first; ; ends = await publisher.endOffsets(topics)) {
    const behind = topics.flatMap((topic) =>
      (first.get(topic) ?? []).flatMap((end, partition) => {
        const now = ends.get(topic)?.[partition]?.stable ?? -1n
        return now < end.high ? [`${topic}/${partition} stable ${now} < ${end.high}`] : []
      }),
    )
    if (behind.length === 0) return ends
    if (Date.now() > deadline)
      throw new Error(
        `open transactions of another writer hold the topic back: ${behind.slice(0, 3).join('; ')}`,
      )
    await Bun.sleep(STABLE_POLL_MS)
  }
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
  const ends = await settledEnds(publisher, topics)
  const ids = new Set<string>()
  const reached: PartitionOffset[] = []
  let readBack = 0
  for (const { topic, partition, next } of recorded) {
    const end = ends.get(topic)?.[partition]?.stable
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

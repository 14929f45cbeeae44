/**
 * The send pipeline of the leading relay: reads pending rows on the leader session, encodes them, sends
 * them as one Kafka transaction, and marks them sent once the commit is acknowledged. While one
 * transaction waits for its commit, the next batches are read and encoded and the previous one is
 * marked; transactions go one at a time (everything read meanwhile leaves together as the next one).
 *
 * Each record carries its row id in the `outbox-id` header: that is what recovery identifies rows by
 * after a failure (the pipeline itself never guesses what a failed transaction left on the topic).
 */
import { ContractViolation } from '@vehicles/contracts'
import type { Logger } from '@vehicles/platform'
import type { Database } from '../db/database'
import { type Leadership, LeadershipLost } from './leadership'
import type { RelayMetrics } from './metrics'
import { type Delivery, OUTBOX_ID_HEADER, type OutgoingEvent, type Publisher } from './publisher'
import type { PartitionOffset, RelayStatements } from './statements'

export class SendFailed extends Error {
  override readonly name = 'SendFailed'
}

/** One read, encoded. */
interface ReadBatch {
  lastId: string
  rows: number
  ready: { event: OutgoingEvent; value: Buffer; id: string }[]
}

export interface PipelineOptions {
  db: Database
  publisher: Publisher
  statements: RelayStatements
  leadership: Leadership
  logger: Logger
  metrics: RelayMetrics
  batchSize: number
  /** Batches read ahead while a transaction waits. */
  readAhead: number
  /** Upper bound of the rows read ahead, hence of one transaction. */
  maxSendRows: number
  /** True once a stopping relay's flush budget is spent: nothing more is read. */
  outOfTime(): boolean
  onSending(): void
  onMarked(rows: number): void
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Per topic partition, the offset after the highest committed record. */
function nextOffsets(deliveries: readonly Delivery[]): PartitionOffset[] {
  const next = new Map<string, PartitionOffset>()
  for (const d of deliveries) {
    const slot = `${d.topic}:${d.partition}`
    const offset = BigInt(d.offset) + 1n
    const seen = next.get(slot)
    if (seen === undefined || seen.next < offset)
      next.set(slot, { topic: d.topic, partition: d.partition, next: offset })
  }
  return [...next.values()]
}

export function createPipeline(options: PipelineOptions) {
  const { db, publisher, statements, leadership, logger, metrics } = options
  let knownTopics: Set<string> | undefined

  async function read(cursor: string, limit: number): Promise<ReadBatch | undefined> {
    const { conn, pid } = leadership.session()
    const rows = await statements.readPending(conn, cursor, limit)
    const first = rows[0]
    if (first === undefined) return undefined
    // Read on a new connection: the lock went with the old session. Nothing of it is sent.
    if (first.pid !== pid) throw new LeadershipLost('the leader session was replaced (connection lost)')
    const ready: ReadBatch['ready'] = []
    for (const row of rows) {
      const event: OutgoingEvent = {
        topic: row.topic,
        key: row.key,
        payload: row.payload,
        headers: { ...row.headers, [OUTBOX_ID_HEADER]: row.id },
      }
      try {
        ready.push({ event, value: publisher.encode(event), id: row.id })
      } catch (error) {
        if (!(error instanceof ContractViolation)) throw error
        await statements.markFailed(db, pid, row.id, error.message)
        metrics.failedRows.inc()
        logger.error('outbox.row_failed', 'outbox row breaks its schema: kept, marked failed, not sent', {
          outboxId: row.id,
          reason: error.message,
        })
      }
    }
    return { lastId: rows.at(-1)?.id ?? first.id, rows: rows.length, ready }
  }

  /** Before the first send to a topic: its current stable offsets are where reading back starts. */
  async function knowTopics(topics: string[]): Promise<void> {
    const { pid } = leadership.session()
    knownTopics ??= await statements.knownTopics(db)
    const known = knownTopics
    const unknown = topics.filter((t) => !known.has(t))
    if (unknown.length === 0) return
    const ends = await publisher.endOffsets(unknown)
    const offsets = [...ends].flatMap(([topic, list]) =>
      list.map((end, partition) => ({ topic, partition, next: end.stable })),
    )
    await statements.initOffsets(db, pid, offsets)
    for (const t of unknown) known.add(t)
  }

  async function send(group: ReadBatch[]): Promise<Delivery[]> {
    const records = group.flatMap((b) => b.ready)
    if (records.length === 0) return []
    await knowTopics([...new Set(records.map((r) => r.event.topic))])
    options.onSending()
    const timer = metrics.sendSeconds.startTimer()
    try {
      const deliveries = await publisher.publish(records)
      timer()
      return deliveries
    } catch (error) {
      // Best effort: the attempt is noted only while this relay still leads.
      if (leadership.leading) {
        const ids = records.map((r) => r.id)
        await statements.noteAttempt(db, leadership.session().pid, ids, message(error)).catch(() => {})
      }
      throw new SendFailed(message(error), { cause: error })
    }
  }

  async function mark(group: ReadBatch[], deliveries: Delivery[]): Promise<void> {
    const ids = group.flatMap((b) => b.ready.map((r) => r.id))
    if (ids.length === 0) return
    // On the pool, beside the leader session's next read; conditional on the leader session's lock.
    const marked = await statements.markSent(db, leadership.session().pid, ids, nextOffsets(deliveries))
    options.onMarked(marked)
  }

  /**
   * Reads, sends and marks until no pending row is left (or `once`: one read). Rejects on the first
   * failure, after the reads and marks under way have settled; the caller recovers before sending more.
   */
  async function pump(once: boolean): Promise<number> {
    let handled = 0
    let cursor = '0'
    let exhausted = false
    const ready: ReadBatch[] = []
    let reading: Promise<void> | undefined
    let failure: { error: unknown } | undefined
    let marking: Promise<void> = Promise.resolve()
    const fail = (error: unknown) => {
      failure ??= { error }
    }
    const readMore = () => {
      const buffered = ready.reduce((n, b) => n + b.rows, 0)
      const limit = Math.min(options.batchSize * options.readAhead, options.maxSendRows)
      const room = once ? options.batchSize : limit - buffered
      if (reading !== undefined || exhausted || failure !== undefined || room <= 0 || options.outOfTime())
        return
      // A statement costs about the same whatever its size on a loaded machine, so one read fills the
      // room left in the read-ahead rather than one batch at a time.
      reading = read(cursor, room)
        .then((batch) => {
          if (batch === undefined) {
            exhausted = true
            return
          }
          cursor = batch.lastId
          ready.push(batch)
          if (batch.rows < room || once) exhausted = true
        }, fail)
        .finally(() => {
          reading = undefined
        })
    }
    try {
      while (failure === undefined) {
        readMore()
        if (ready.length === 0) {
          if (reading === undefined) break
          await reading
          continue
        }
        const group = ready.splice(0, ready.length)
        readMore()
        const deliveries = await send(group)
        handled += group.reduce((n, b) => n + b.rows, 0)
        // Marks run in order; after a failed one none runs (recovery finds those rows on the topic).
        marking = marking
          .then(() => (failure === undefined ? mark(group, deliveries) : undefined))
          .catch(fail)
      }
    } finally {
      await reading
      await marking
    }
    if (failure !== undefined) throw failure.error
    return handled
  }

  return {
    pump,
    /** On a takeover: which topics have offsets recorded is read again. */
    forgetTopics() {
      knownTopics = undefined
    },
  }
}

export type Pipeline = ReturnType<typeof createPipeline>

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

/** One per relay: owns which topics have read-back offsets recorded (read again on a takeover). */
export class Pipeline {
  private knownTopics: Set<string> | undefined
  private readonly db: Database
  private readonly publisher: Publisher
  private readonly statements: RelayStatements
  private readonly leadership: Leadership
  private readonly logger: Logger
  private readonly metrics: RelayMetrics

  constructor(private readonly options: PipelineOptions) {
    this.db = options.db
    this.publisher = options.publisher
    this.statements = options.statements
    this.leadership = options.leadership
    this.logger = options.logger
    this.metrics = options.metrics
  }

  /** On a takeover: which topics have offsets recorded is read again. */
  forgetTopics(): void {
    this.knownTopics = undefined
  }

  private async read(cursor: string, limit: number): Promise<ReadBatch | undefined> {
    const { conn, pid } = this.leadership.session()
    const rows = await this.statements.readPending(conn, cursor, limit)
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
        ready.push({ event, value: this.publisher.encode(event), id: row.id })
      } catch (error) {
        if (!(error instanceof ContractViolation)) throw error
        await this.statements.markFailed(this.db, pid, row.id, error.message)
        this.metrics.failedRows.inc()
        this.logger.error(
          'outbox.row_failed',
          'outbox row breaks its schema: kept, marked failed, not sent',
          {
            outboxId: row.id,
            reason: error.message,
          },
        )
      }
    }
    return { lastId: rows.at(-1)?.id ?? first.id, rows: rows.length, ready }
  }

  /** Before the first send to a topic: its current stable offsets are where reading back starts. */
  private async knowTopics(topics: string[]): Promise<void> {
    const { pid } = this.leadership.session()
    this.knownTopics ??= await this.statements.knownTopics(this.db)
    const known = this.knownTopics
    const unknown = topics.filter((t) => !known.has(t))
    if (unknown.length === 0) return
    const ends = await this.publisher.endOffsets(unknown)
    const offsets = [...ends].flatMap(([topic, list]) =>
      list.map((end, partition) => ({ topic, partition, next: end.stable })),
    )
    await this.statements.initOffsets(this.db, pid, offsets)
    for (const t of unknown) known.add(t)
  }

  private async send(group: ReadBatch[]): Promise<Delivery[]> {
    const records = group.flatMap((b) => b.ready)
    if (records.length === 0) return []
    await this.knowTopics([...new Set(records.map((r) => r.event.topic))])
    this.options.onSending()
    const timer = this.metrics.sendSeconds.startTimer()
    try {
      const deliveries = await this.publisher.publish(records)
      timer()
      return deliveries
    } catch (error) {
      // Best effort: the attempt is noted only while this relay still leads.
      if (this.leadership.leading) {
        const ids = records.map((r) => r.id)
        await this.statements
          .noteAttempt(this.db, this.leadership.session().pid, ids, message(error))
          .catch(() => {})
      }
      throw new SendFailed(message(error), { cause: error })
    }
  }

  private async mark(group: ReadBatch[], deliveries: Delivery[]): Promise<void> {
    const ids = group.flatMap((b) => b.ready.map((r) => r.id))
    if (ids.length === 0) return
    // On the pool, beside the leader session's next read; conditional on the leader session's lock.
    const marked = await this.statements.markSent(
      this.db,
      this.leadership.session().pid,
      ids,
      nextOffsets(deliveries),
    )
    this.options.onMarked(marked)
  }

  /**
   * Reads, sends and marks until no pending row is left (or `once`: one read). Rejects on the first
   * failure, after the reads and marks under way have settled; the caller recovers before sending more.
   */
  async pump(once: boolean): Promise<number> {
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
      const limit = Math.min(this.options.batchSize * this.options.readAhead, this.options.maxSendRows)
      const room = once ? this.options.batchSize : limit - buffered
      if (
        reading !== undefined ||
        exhausted ||
        failure !== undefined ||
        room <= 0 ||
        this.options.outOfTime()
      )
        return
      // A statement costs about the same whatever its size on a loaded machine, so one read fills the
      // room left in the read-ahead rather than one batch at a time.
      reading = this.read(cursor, room)
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
        const deliveries = await this.send(group)
        handled += group.reduce((n, b) => n + b.rows, 0)
        // Marks run in order; after a failed one none runs (recovery finds those rows on the topic).
        marking = marking
          .then(() => (failure === undefined ? this.mark(group, deliveries) : undefined))
          .catch(fail)
      }
    } finally {
      await reading
      await marking
    }
    if (failure !== undefined) throw failure.error
    return handled
  }
}

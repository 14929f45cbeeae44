/**
 * The outbox relay: moves pending outbox rows to Kafka, marking each sent only after the brokers
 * acknowledged it (acks=all).
 *
 * One leader per outbox: a relay sends only while it holds a PostgreSQL advisory lock on a connection
 * of its own; the others stand by and take over when its session ends (process killed, connection
 * lost). So no row goes out through two relays, and the leader needs no row locks: it reads pending
 * rows in id order (the partial index of pending rows), which also keeps each vehicle's events in
 * order on its partition.
 *
 * Pipelined: while one send waits for its acknowledgements, the next batches are read and encoded,
 * and the previous one is marked sent. Only one send is outstanding at a time (everything read
 * meanwhile leaves together as the next send), so on every partition what Kafka wrote is always a
 * prefix of what the relay handed over: that is what lets `doubt.ts` tell, after a failure or a crash,
 * which rows Kafka already has instead of sending them again.
 *
 * The statement that reads a batch also records its ids in `outbox_relay_inflight` (committed before
 * the send); the statement that marks it sent deletes that record and advances the per-partition
 * offsets from the acknowledgements. A failed send closes its client (waiting for what it has in
 * flight) and nothing more is sent until the rows in doubt are resolved against the topic.
 *
 * Wakes on LISTEN `outbox` (the inserting statement NOTIFYs at commit) with a polling fallback.
 */
import { ContractViolation } from '@vehicles/contracts'
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@vehicles/platform'
import type { Database, Listener, Session } from '../db/database'
import { isUnavailable } from '../db/errors'
import { INIT_OFFSETS, resolveDoubt } from './doubt'
import { OUTBOX_CHANNEL } from './enqueue'
import type { Delivery, OutgoingEvent, Publisher } from './publisher'

export type RelayState =
  | 'starting'
  | 'standby'
  | 'recovering'
  | 'idle'
  | 'sending'
  | 'backing_off'
  | 'stopped'

export interface RelayOptions {
  db: Database
  publisher: Publisher
  logger: Logger
  registry?: Registry
  /** Rows per read. */
  batchSize: number
  pollIntervalMs: number
  backoffMinMs: number
  backoffMaxMs: number
  /** How long `stop()` keeps sending what is pending before it gives up (default 5 000 ms). */
  flushTimeoutMs?: number
  /** Keep sent rows (marked `sent_at`, pruned later) or delete them when marking (default true). */
  keepSentRows?: boolean
  /** Batches read ahead while a send waits; they leave together as the next send (default 2). */
  concurrency?: number
  /** At most this many rows read ahead, so in one send (default 2 000, at least `batchSize`). */
  maxSendRows?: number
  /** Bound of waiting for a failed client to close, per attempt (default 60 000 ms). */
  closeTimeoutMs?: number
  /**
   * On taking over from another relay that left rows in doubt: how long after that relay's last read
   * its sends may still land (its delivery deadline and retries). Resolving earlier could miss a record
   * still on its way and send it again. Default 0 (tests).
   */
  takeoverDelayMs?: number
}

export interface RelayStatus {
  state: RelayState
  leader: boolean
  consecutiveFailures: number
  lastError?: string
  lastSentAt?: string
  sent: number
  listening: boolean
}

export interface Relay {
  start(): void
  /** Wakes the loop now (a NOTIFY arrived). */
  wake(): void
  /** Reads, sends and marks one batch now (tests); resolves to the number of rows handled. */
  runOnce(): Promise<number>
  /** Finishes the send in flight, sends what is pending while it can, closes the publisher. */
  stop(): Promise<void>
  status(): RelayStatus
}

interface PendingRow {
  id: string
  topic: string
  key: string
  payload: unknown
  headers: Record<string, string>
  seq: string | null
  pid: number
}

/** One read batch, encoded. */
interface ReadBatch {
  seq: string
  lastId: string
  rows: number
  ready: { event: OutgoingEvent; value: Buffer; id: string }[]
}

/**
 * Upper bound of the rows read ahead (hence of one send and one mark). Measured on the 2-core stack
 * (bench/relay, 50 000 rows): sends of about 2 000 records beat both smaller ones (a send, a read and a
 * mark each cost a round trip of about the same duration whatever their size) and larger ones (the
 * mark of 4 000 rows took 4 times as long as that of 2 000, and the pipeline runs at its slowest stage).
 */
const MAX_SEND_ROWS = 2_000

/** An arbitrary constant naming "vehicles-stock outbox relay leader" among advisory locks. */
const LEADER_LOCK = 7_310_421_102

const TAKE_LEAD = 'select pg_try_advisory_lock($1) as locked, pg_backend_pid() as pid'

// Whether the leader session still holds the lock, asked from any pool connection (beside the leader
// connection's read in progress) before each send: a relay that lost its session sends nothing more.
const STILL_LEADS = `select exists (
    select 1 from pg_locks
    where locktype = 'advisory' and granted and pid = $2
      and ((classid::bigint << 32) | objid::bigint) = $1::bigint and objsubid = 1
  ) as leads`

// Pending rows after the cursor in id order (partial index outbox_pending_idx), and their ids recorded as
// in flight in the same statement, so the record is committed before anything is sent. The backend pid
// proves the statement ran on the session holding the leader lock (not on a silently new connection).
const READ_BATCH = `with s as materialized (
    select id, topic, key, payload, headers from outbox
    where sent_at is null and failed_at is null and id > $1::bigint
    order by id
    limit $2
  ), f as (
    insert into outbox_relay_inflight (ids)
    select array_agg(id order by id) from s having count(*) > 0
    returning seq
  )
  select s.id::text as id, s.topic, s.key, s.payload, s.headers, (select seq::text from f) as seq,
    pg_backend_pid() as pid
  from s order by s.id`

// Sent, acknowledged offsets recorded, in-flight record gone: one statement, so all or nothing. Sent rows
// are kept (for OUTBOX_RETENTION_MS) or, with no retention, deleted right away: a delete only stamps
// the old tuple, where the update writes a new one and its index entries (about 8 times the work).
const markSent = (keep: boolean) => `with m as (
    ${keep ? 'update outbox set sent_at = now(), attempts = attempts + 1, last_error = null' : 'delete from outbox'}
    where id = any($1::bigint[])
  ), d as (
    delete from outbox_relay_inflight where seq = any($2::bigint[])
  )
  insert into outbox_relay_offsets (topic, partition, next_offset)
  select * from unnest($3::text[], $4::int[], $5::bigint[])
  on conflict (topic, partition) do update
    set next_offset = greatest(outbox_relay_offsets.next_offset, excluded.next_offset)`

const MARK_FAILED = `update outbox set failed_at = now(), attempts = attempts + 1, last_error = $2
  where id = any($1::bigint[])`

const NOTE_ATTEMPT = `update outbox set attempts = attempts + 1, last_error = $2
  where id = any($1::bigint[]) and sent_at is null`

const INFLIGHT_AGE = `select coalesce(extract(epoch from now() - max(created_at)) * 1000, -1)::float8 as age,
    max(seq)::text as seq
  from outbox_relay_inflight`

class ClusterNotWritable extends Error {
  override readonly name = 'ClusterNotWritable'
}
class SendFailed extends Error {
  override readonly name = 'SendFailed'
}
class LeadershipLost extends Error {
  override readonly name = 'LeadershipLost'
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Per topic partition, the offset after the highest acknowledged record. */
function nextOffsets(deliveries: readonly Delivery[]) {
  const next = new Map<string, { topic: string; partition: number; next: bigint }>()
  for (const d of deliveries) {
    const slot = `${d.topic}:${d.partition}`
    const offset = BigInt(d.offset) + 1n
    const seen = next.get(slot)
    if (seen === undefined || seen.next < offset)
      next.set(slot, { topic: d.topic, partition: d.partition, next: offset })
  }
  return [...next.values()]
}

export function createRelay(options: RelayOptions): Relay {
  const { db, publisher, logger } = options
  const readAhead = Math.max(1, options.concurrency ?? 2)
  const maxSendRows = Math.max(options.batchSize, options.maxSendRows ?? MAX_SEND_ROWS)
  const MARK_SENT = markSent(options.keepSentRows ?? true)
  const registers = options.registry === undefined ? [] : [options.registry]
  const sentTotal = new Counter({
    name: 'outbox_relay_sent_total',
    help: 'outbox rows acknowledged by Kafka and marked sent',
    registers,
  })
  const errorsTotal = new Counter({
    name: 'outbox_relay_errors_total',
    help: 'failed relay attempts by stage: connect (Kafka or registry), cluster (not writable yet), send, database',
    labelNames: ['stage'] as const,
    registers,
  })
  const failedRows = new Counter({
    name: 'outbox_relay_failed_rows_total',
    help: 'outbox rows that break their schema and can never be sent (kept, marked failed)',
    registers,
  })
  const doubtRows = new Counter({
    name: 'outbox_relay_doubt_rows_total',
    help: 'rows in doubt after a failed send or a crash, by outcome: written (found on the topic, not sent again), not_written (sent again), unexplained (sent again, possible duplicate)',
    labelNames: ['outcome'] as const,
    registers,
  })
  const sendSeconds = new Histogram({
    name: 'outbox_relay_batch_duration_seconds',
    help: 'one relay send: from handing the records to the producer to every acknowledgement (acks=all)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  })
  const backingOff = new Gauge({
    name: 'outbox_relay_backing_off',
    help: '1 while the relay waits after a failure (Kafka or registry away)',
    registers,
  })
  const leaderGauge = new Gauge({
    name: 'outbox_relay_leader',
    help: '1 while this process holds the relay leader lock (the only relay sending)',
    registers,
  })

  let state: RelayState = 'starting'
  let started = false
  let stopping = false
  let flushDeadline = Number.POSITIVE_INFINITY
  let connected = false
  let connecting: Promise<void> | undefined
  /** The close of a failed client: nothing is resolved or sent before it finished. */
  let closing: Promise<void> | undefined
  let session: { conn: Session; pid: number } | undefined
  /** A standby's session, on which it asks for the lock again. */
  let candidate: Session | undefined
  let announcedStandby = false
  /** Rows may be in doubt: resolve against the topic before sending anything. */
  let doubt = true
  let takeover = true
  let knownTopics: Set<string> | undefined
  /** The last in-flight record this process wrote. */
  let ownLastSeq = -1n
  let failures = 0
  let lastError: string | undefined
  let lastSentAt: string | undefined
  let sent = 0
  let listener: Listener | undefined
  let woken = false
  const waiters = new Set<() => void>()
  let loop: Promise<void> = Promise.resolve()
  let onStop: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    onStop = resolve
  })

  const wake = () => {
    woken = true
    for (const waiter of [...waiters]) waiter()
  }

  /** Sleeps until `ms` passed or `wake()` was called (a wake that came while busy counts once). */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopping) {
        woken = false
        resolve()
        return
      }
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        waiters.delete(done)
        woken = false
        resolve()
      }
      waiters.add(done)
    })

  const ensureConnected = async () => {
    if (connected) return
    connecting ??= publisher.start().then(
      () => {
        connected = true
        connecting = undefined
      },
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    await connecting
  }

  const backoffMs = (n: number) => {
    const exp = Math.min(options.backoffMaxMs, options.backoffMinMs * 2 ** Math.min(n - 1, 20))
    return Math.round(exp / 2 + (Math.random() * exp) / 2)
  }

  /**
   * Takes the leader lock if free; false while another relay leads. A standby keeps its session and
   * asks again on it at every round, rather than opening a connection per round.
   */
  async function lead(): Promise<boolean> {
    if (session !== undefined) return true
    const conn = candidate ?? (await db.openSession())
    candidate = conn
    try {
      const [row] = await conn.query<{ locked: boolean; pid: number }>(TAKE_LEAD, [LEADER_LOCK])
      if (row?.locked !== true) {
        if (!announcedStandby) {
          announcedStandby = true
          logger.info('outbox.relay.standby', 'another relay leads: this one stands by to take over')
        }
        return false
      }
      candidate = undefined
      announcedStandby = false
      session = { conn, pid: row.pid }
      doubt = true
      takeover = true
      knownTopics = undefined
      leaderGauge.set(1)
      logger.info('outbox.relay.leading', 'this relay leads: it is the one sending the outbox')
      return true
    } catch (error) {
      candidate = undefined
      conn.release()
      throw error
    }
  }

  async function resign(): Promise<void> {
    const current = session
    session = undefined
    leaderGauge.set(0)
    candidate?.release()
    candidate = undefined
    if (current === undefined) return
    await current.conn.query('select pg_advisory_unlock($1)', [LEADER_LOCK]).catch(() => {})
    current.conn.release()
  }

  const leaderConn = (): Session => {
    if (session === undefined) throw new LeadershipLost('not the leader')
    return session.conn
  }

  /** Before anything is sent after a failure or on taking the lead: which rows in doubt are written. */
  async function resolve(): Promise<void> {
    if (!doubt) return
    state = 'recovering'
    if (closing !== undefined) {
      const done = await Promise.race([
        closing.then(() => true),
        Bun.sleep(options.closeTimeoutMs ?? 60_000).then(() => false),
      ])
      if (!done) throw new SendFailed('the failed Kafka client is still closing (its sends may still land)')
      closing = undefined
    }
    const conn = leaderConn()
    if (takeover && (options.takeoverDelayMs ?? 0) > 0) {
      const [row] = await conn.query<{ age: number; seq: string | null }>(INFLIGHT_AGE)
      const wait = (options.takeoverDelayMs ?? 0) - (row?.age ?? -1)
      // Rows this process read itself (then lost the lead) have no send in flight any more.
      const theirs = row?.seq != null && BigInt(row.seq) > ownLastSeq
      if (theirs && wait > 0) {
        logger.info(
          'outbox.relay.takeover_wait',
          `waiting ${Math.round(wait)} ms for the previous leader's sends to land`,
        )
        await Promise.race([Bun.sleep(wait), stopped])
        if (stopping) throw new LeadershipLost('stopping')
      }
    }
    const outcome = await resolveDoubt(conn, publisher, logger)
    doubtRows.inc({ outcome: 'written' }, outcome.written)
    doubtRows.inc({ outcome: 'not_written' }, outcome.notWritten)
    doubtRows.inc({ outcome: 'unexplained' }, outcome.unexplained)
    sent += outcome.written
    sentTotal.inc(outcome.written)
    doubt = false
    takeover = false
  }

  async function read(cursor: string, limit: number): Promise<ReadBatch | undefined> {
    const conn = leaderConn()
    const rows = await conn.query<PendingRow & Record<string, unknown>>(READ_BATCH, [cursor, limit])
    const first = rows[0]
    if (first === undefined) return undefined
    if (first.pid !== session?.pid) {
      // Read on a new session: the lock went with the old one. The read is recorded in flight, so
      // whoever leads next resolves it; this relay sends nothing of it.
      throw new LeadershipLost('the leader session was replaced (connection lost)')
    }
    const ready: ReadBatch['ready'] = []
    const broken: { id: string; reason: string }[] = []
    for (const row of rows) {
      const event: OutgoingEvent = {
        topic: row.topic,
        key: row.key,
        payload: row.payload,
        headers: row.headers,
      }
      try {
        ready.push({ event, value: publisher.encode(event), id: row.id })
      } catch (error) {
        if (!(error instanceof ContractViolation)) throw error
        broken.push({ id: row.id, reason: error.message })
      }
    }
    for (const row of broken) {
      await conn.query(MARK_FAILED, [[row.id], row.reason])
      logger.error('outbox.row_failed', 'outbox row breaks its schema: kept, marked failed, not sent', {
        outboxId: row.id,
        reason: row.reason,
      })
    }
    failedRows.inc(broken.length)
    if (first.seq !== null) ownLastSeq = BigInt(first.seq)
    return { seq: first.seq ?? '0', lastId: rows.at(-1)?.id ?? first.id, rows: rows.length, ready }
  }

  /** The first send to a topic starts from its current end (nothing of ours is on it yet). */
  async function knowTopics(topics: string[]): Promise<void> {
    const conn = leaderConn()
    if (knownTopics === undefined) {
      const rows = await conn.query<{ topic: string }>('select distinct topic from outbox_relay_offsets')
      knownTopics = new Set(rows.map((r) => r.topic))
    }
    const known = knownTopics
    const unknown = topics.filter((t) => !known.has(t))
    if (unknown.length === 0) return
    const ends = await publisher.endOffsets(unknown)
    const slots = [...ends].flatMap(([topic, list]) =>
      list.map((end, partition) => ({ topic, partition, end })),
    )
    await conn.query(INIT_OFFSETS, [
      slots.map((s) => s.topic),
      slots.map((s) => s.partition),
      slots.map((s) => s.end.toString()),
    ])
    for (const t of unknown) known.add(t)
  }

  async function send(group: ReadBatch[]): Promise<Delivery[]> {
    const records = group.flatMap((b) => b.ready)
    if (records.length === 0) return []
    await knowTopics([...new Set(records.map((r) => r.event.topic))])
    const [check] = await db.query<{ leads: boolean }>(STILL_LEADS, [LEADER_LOCK, session?.pid ?? 0])
    if (check?.leads !== true) throw new LeadershipLost('the leader session no longer holds the lock')
    state = 'sending'
    const timer = sendSeconds.startTimer()
    try {
      const deliveries = await publisher.publish(records)
      timer()
      return deliveries
    } catch (error) {
      doubt = true
      const ids = records.map((r) => r.id)
      await leaderConn()
        .query(NOTE_ATTEMPT, [ids, message(error)])
        .catch(() => {})
      throw new SendFailed(message(error), { cause: error })
    }
  }

  async function mark(group: ReadBatch[], deliveries: Delivery[]): Promise<void> {
    const offsets = nextOffsets(deliveries)
    const ids = group.flatMap((b) => b.ready.map((r) => r.id))
    // On the pool, beside the leader connection's next read: marking acknowledged rows is right
    // whoever leads.
    await db.query(MARK_SENT, [
      ids,
      group.map((b) => b.seq),
      offsets.map((o) => o.topic),
      offsets.map((o) => o.partition),
      offsets.map((o) => o.next.toString()),
    ])
    const handled = group.reduce((n, b) => n + b.rows, 0)
    sent += ids.length
    sentTotal.inc(ids.length)
    if (handled > 0) lastSentAt = new Date().toISOString()
  }

  /**
   * Reads, sends and marks until no pending row is left (or `once`: one read batch). Reading the next
   * batches and marking the previous send overlap the send in flight; sends are one at a time.
   */
  async function pump(once: boolean): Promise<number> {
    let handled = 0
    let cursor = '0'
    let exhausted = false
    const ready: ReadBatch[] = []
    let reading: Promise<void> | undefined
    let readError: unknown
    let marking: Promise<void> = Promise.resolve()
    let markError: unknown
    const readMore = () => {
      const buffered = ready.reduce((n, b) => n + b.rows, 0)
      const room = once ? options.batchSize : Math.min(options.batchSize * readAhead, maxSendRows) - buffered
      if (reading !== undefined || exhausted || readError !== undefined || room <= 0) return
      if (stopping && Date.now() > flushDeadline) return
      // Each statement costs about the same whatever its size on a loaded machine (it waits more than
      // it works), so one read fills the room left in the read-ahead rather than one batch at a time.
      reading = read(cursor, room)
        .then(
          (batch) => {
            if (batch === undefined) {
              exhausted = true
              return
            }
            cursor = batch.lastId
            ready.push(batch)
            if (batch.rows < room || once) exhausted = true
          },
          (error: unknown) => {
            readError = error
          },
        )
        .finally(() => {
          reading = undefined
        })
    }
    try {
      for (;;) {
        readMore()
        if (ready.length === 0) {
          if (reading !== undefined) {
            await reading
            continue
          }
          if (readError !== undefined) throw readError
          break
        }
        const group = ready.splice(0, ready.length)
        readMore()
        const deliveries = await send(group)
        handled += group.reduce((n, b) => n + b.rows, 0)
        // Marks run in order, one after another; after a failed one none runs (its rows stay in doubt).
        marking = marking
          .then(() => (markError === undefined ? mark(group, deliveries) : undefined))
          .catch((error: unknown) => {
            markError ??= error
          })
        if (readError !== undefined) throw readError
        if (markError !== undefined) throw markError
      }
    } finally {
      await reading
      await marking
    }
    if (markError !== undefined) {
      doubt = true
      throw markError
    }
    return handled
  }

  /** One round: lead (or stand by), resolve what is in doubt, send until caught up. */
  async function round(once: boolean): Promise<number> {
    if (!(await lead())) {
      state = 'standby'
      return 0
    }
    // After a failure, resume only into a cluster that can take the write (see Publisher.writable).
    if (failures > 0 && publisher.writable !== undefined) {
      try {
        await publisher.writable()
      } catch (error) {
        throw new ClusterNotWritable(message(error))
      }
    }
    await ensureConnected()
    await resolve()
    return await pump(once)
  }

  /** What a failed round leaves behind: a failed client is closed, a lost session given up. */
  async function afterFailure(error: unknown): Promise<string> {
    const stage =
      error instanceof ClusterNotWritable
        ? 'cluster'
        : error instanceof SendFailed
          ? 'send'
          : !connected && !(error instanceof LeadershipLost) && !isUnavailable(error)
            ? 'connect'
            : 'database'
    if (stage === 'send' && connected) {
      // The failed send may still be in flight inside the client (the module's deadline passed, the
      // library's retries did not). Close it (its disconnect waits for what is in flight); nothing is
      // resolved or sent until that close finished.
      connected = false
      closing = publisher.close().catch(() => {})
    }
    if (stage === 'database') {
      // The leader session may be gone: give the lock up; rows read are resolved by the next leader.
      doubt = true
      await resign()
    }
    return stage
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        const handled = await round(false)
        if (failures > 0 && state !== 'standby') {
          logger.info('outbox.relay.recovered', `relay sending again after ${failures} failed attempt(s)`)
        }
        if (state !== 'standby') {
          failures = 0
          lastError = undefined
          backingOff.set(0)
          state = 'idle'
        }
        if (handled === 0 || state === 'standby') await sleep(options.pollIntervalMs)
      } catch (error) {
        failures += 1
        lastError = message(error)
        state = 'backing_off'
        backingOff.set(1)
        const stage = await afterFailure(error)
        errorsTotal.inc({ stage })
        const wait = backoffMs(failures)
        // Every failure while it is new, then one line in ten: the outbox keeps filling, the log should not.
        if (failures <= 3 || failures % 10 === 0) {
          logger.warn('outbox.relay.backoff', `relay cannot send; outbox rows wait (retry in ${wait} ms)`, {
            attempt: failures,
            error: lastError,
          })
        }
        // Only stop() cuts a back-off short: NOTIFYs keep coming while Kafka is away.
        if (!stopping) await Promise.race([Bun.sleep(wait), stopped])
      }
    }
  }

  async function listen(): Promise<void> {
    while (!stopping && listener === undefined) {
      try {
        listener = await db.listen(OUTBOX_CHANNEL, wake)
        logger.debug('outbox.relay.listening', `listening on ${OUTBOX_CHANNEL}`)
      } catch (error) {
        logger.warn('outbox.relay.listen_failed', 'cannot LISTEN yet; polling meanwhile', { error })
        await Bun.sleep(Math.max(options.pollIntervalMs, 1_000) * 5)
      }
    }
  }

  return {
    start() {
      if (started) return
      started = true
      void listen()
      loop = run()
    },
    wake,
    async runOnce() {
      try {
        return await round(true)
      } catch (error) {
        await afterFailure(error)
        throw error
      }
    },
    async stop() {
      if (stopping) return
      flushDeadline = Date.now() + (options.flushTimeoutMs ?? 5_000)
      stopping = true
      onStop()
      wake()
      await loop
      // Flush: what is pending goes out now if Kafka answers, within the flush budget.
      if (session !== undefined && connected && failures === 0 && !doubt) {
        try {
          await pump(false)
        } catch (error) {
          logger.warn('outbox.relay.flush_failed', 'pending rows stay in the outbox for the next start', {
            error,
          })
        }
      }
      await listener?.unlisten().catch(() => {})
      await (closing ?? publisher.close()).catch(() => {})
      await resign()
      state = 'stopped'
    },
    status: () => ({
      state,
      leader: session !== undefined,
      consecutiveFailures: failures,
      ...(lastError !== undefined ? { lastError } : {}),
      ...(lastSentAt !== undefined ? { lastSentAt } : {}),
      sent,
      listening: listener !== undefined,
    }),
  }
}

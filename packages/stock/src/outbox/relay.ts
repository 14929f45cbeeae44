/**
 * The outbox relay: moves pending outbox rows to Kafka, marking each sent only after the broker
 * acknowledged it (acks=all). Safe with several instances on one outbox.
 *
 * One batch = one transaction: select pending rows `for update skip locked` in id order, encode, send,
 * mark sent, commit. Another instance skips the locked rows and takes the next ones, so no row goes out
 * twice through two relays. A failed send rolls the transaction back (nothing is marked) and the relay
 * backs off, then tries again; Kafka's idempotent producer and the consumers' dedup by event id cover
 * the one window left (acknowledged, then the process died before its commit).
 *
 * Order per vehicle: a row is only eligible when no earlier row of the same aggregate is still pending,
 * so one vehicle's events leave one after another, in id order, even across instances.
 *
 * Wakes on LISTEN `outbox` (the inserting statement NOTIFYs at commit) with a polling fallback.
 *
 * `concurrency` lanes run batches side by side (each its own transaction over disjoint locked rows), so
 * one batch's database work overlaps another's wait for acknowledgements; the Kafka module coalesces
 * their sends. The order rule above holds across lanes as it does across instances.
 */
import { ContractViolation } from '@vehicles/contracts'
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@vehicles/platform'
import type { Database, Listener } from '../db/database'
import { isUnavailable } from '../db/errors'
import { OUTBOX_CHANNEL } from './enqueue'
import type { OutgoingEvent, Publisher } from './publisher'

export type RelayState = 'starting' | 'idle' | 'sending' | 'backing_off' | 'stopped'

export interface RelayOptions {
  db: Database
  publisher: Publisher
  logger: Logger
  registry?: Registry
  batchSize: number
  pollIntervalMs: number
  backoffMinMs: number
  backoffMaxMs: number
  /** How long `stop()` keeps sending what is pending before it gives up (default 5 000 ms). */
  flushTimeoutMs?: number
  /** Batches in flight at once (default 1). */
  concurrency?: number
  /** Bound of closing a failed client, which waits for its in-flight sends (default 60 000 ms). */
  closeTimeoutMs?: number
}

export interface RelayStatus {
  state: RelayState
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
  /** Runs one batch now (tests); resolves to the number of rows handled. */
  runOnce(): Promise<number>
  /** Finishes the batch in flight, sends what is pending while it can, closes the publisher. */
  stop(): Promise<void>
  status(): RelayStatus
}

interface PendingRow {
  id: string
  topic: string
  key: string
  payload: unknown
  headers: Record<string, string>
}

// The head rows of their aggregates only (see the module comment), oldest first. Written as a correlated
// `min()` rather than `not exists (… p.id < o.id)`: PostgreSQL always runs it as one index probe per row,
// whereas the anti-join, planned on the stale statistics of a freshly filled outbox (exactly the
// backlog after a Kafka outage), scanned every pending row per candidate: 180 ms instead of 1 ms per
// batch of 200 over 3 000 pending rows.
const SELECT_PENDING = `
  select o.id::text as id, o.topic, o.key, o.payload, o.headers
  from outbox o
  where o.sent_at is null and o.failed_at is null
    and o.id = (
      select min(p.id) from outbox p
      where p.aggregate_id = o.aggregate_id and p.sent_at is null and p.failed_at is null
    )
  order by o.id
  limit $1
  for update of o skip locked`

const MARK_SENT = `update outbox set sent_at = now(), attempts = attempts + 1, last_error = null
  where id = any($1::bigint[])`

const MARK_FAILED = `update outbox set failed_at = now(), attempts = attempts + 1, last_error = $2
  where id = any($1::bigint[])`

const NOTE_ATTEMPT = `update outbox set attempts = attempts + 1, last_error = $2
  where id = any($1::bigint[]) and sent_at is null`

class ClusterNotWritable extends Error {
  override readonly name = 'ClusterNotWritable'
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

export function createRelay(options: RelayOptions): Relay {
  const { db, publisher, logger } = options
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
  const batchSeconds = new Histogram({
    name: 'outbox_relay_batch_duration_seconds',
    help: 'one relay transaction: select, encode, send with acks=all, mark sent',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  })
  const backingOff = new Gauge({
    name: 'outbox_relay_backing_off',
    help: '1 while the relay waits after a failure (Kafka or registry away)',
    registers,
  })

  let state: RelayState = 'starting'
  let started = false
  let stopping = false
  let connected = false
  let connecting: Promise<void> | undefined
  let failures = 0
  let lastError: string | undefined
  let lastSentAt: string | undefined
  let sent = 0
  let listener: Listener | undefined
  let woken = false
  const waiters = new Set<() => void>()
  let lanes: Promise<void>[] = []
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

  /** One connect for all lanes. */
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

  async function batch(): Promise<number> {
    await ensureConnected()
    const timer = batchSeconds.startTimer()
    let ids: string[] = []
    try {
      const handled = await db.transaction(async (tx) => {
        const rows = await tx.query<PendingRow & Record<string, unknown>>(SELECT_PENDING, [options.batchSize])
        if (rows.length === 0) return 0
        ids = rows.map((r) => r.id)
        const ready: { event: OutgoingEvent; value: Buffer; id: string }[] = []
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
          await tx.query(MARK_FAILED, [[row.id], row.reason])
          logger.error('outbox.row_failed', 'outbox row breaks its schema: kept, marked failed, not sent', {
            outboxId: row.id,
            reason: row.reason,
          })
        }
        failedRows.inc(broken.length)
        if (ready.length > 0) {
          state = 'sending'
          await publisher.publish(ready)
          await tx.query(MARK_SENT, [ready.map((r) => r.id)])
        }
        return rows.length
      })
      timer()
      if (handled > 0) {
        sent += handled
        sentTotal.inc(handled)
        lastSentAt = new Date().toISOString()
      }
      return handled
    } catch (error) {
      // Rolled back: nothing was marked. Note the attempt outside the failed transaction.
      if (ids.length > 0) await db.query(NOTE_ATTEMPT, [ids, message(error)]).catch(() => {})
      throw error
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        // After a failure, resume only into a cluster that can take the write (see Publisher.writable).
        if (failures > 0 && publisher.writable !== undefined) {
          try {
            await publisher.writable()
          } catch (error) {
            throw new ClusterNotWritable(message(error))
          }
        }
        const handled = await batch()
        if (failures > 0) {
          logger.info('outbox.relay.recovered', `relay sending again after ${failures} failed attempt(s)`)
        }
        failures = 0
        lastError = undefined
        backingOff.set(0)
        state = 'idle'
        if (handled < options.batchSize) await sleep(options.pollIntervalMs)
      } catch (error) {
        failures += 1
        lastError = message(error)
        state = 'backing_off'
        backingOff.set(1)
        const stage =
          error instanceof ClusterNotWritable
            ? 'cluster'
            : !connected
              ? 'connect'
              : isUnavailable(error)
                ? 'database'
                : 'send'
        errorsTotal.inc({ stage })
        const wait = backoffMs(failures)
        // Every failure while it is new, then one line in ten: the outbox keeps filling, the log should not.
        if (failures <= 3 || failures % 10 === 0) {
          logger.warn('outbox.relay.backoff', `relay cannot send; outbox rows wait (retry in ${wait} ms)`, {
            attempt: failures,
            error: lastError,
          })
        }
        // A failed send may still be in flight inside the client (its outcome unknown: the module's
        // deadline passed, the library's retries did not). Resending beside it is how a record gets
        // written twice, so the client is closed (its disconnect waits for what is in flight) and the
        // next attempt starts a new one. Bounded: a client stuck on dead brokers must not hold the lane.
        if (connected && stage === 'send') {
          connected = false
          await Promise.race([publisher.close().catch(() => {}), Bun.sleep(options.closeTimeoutMs ?? 60_000)])
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
      lanes = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => run())
    },
    wake,
    runOnce: () => batch(),
    async stop() {
      if (stopping) return
      stopping = true
      onStop()
      wake()
      await Promise.all(lanes)
      // Flush: what is pending goes out now if Kafka answers, within the flush budget.
      const deadline = Date.now() + (options.flushTimeoutMs ?? 5_000)
      if (connected && failures === 0) {
        try {
          while (Date.now() < deadline && (await batch()) > 0) {}
        } catch (error) {
          logger.warn('outbox.relay.flush_failed', 'pending rows stay in the outbox for the next start', {
            error,
          })
        }
      }
      await listener?.unlisten().catch(() => {})
      await publisher.close().catch(() => {})
      state = 'stopped'
    },
    status: () => ({
      state,
      consecutiveFailures: failures,
      ...(lastError !== undefined ? { lastError } : {}),
      ...(lastSentAt !== undefined ? { lastSentAt } : {}),
      sent,
      listening: listener !== undefined,
    }),
  }
}

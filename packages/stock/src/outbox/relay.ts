/**
 * The outbox relay: moves pending outbox rows to Kafka, exactly once. Owns the loop (lead or stand by,
 * recover when in doubt, send until caught up, back off after a failure), its state and `stop`.
 *
 * The guarantee, by construction (packages/stock/README.md argues it in full):
 * - one writer: every relay of an outbox uses the same transactional id; opening a producer session
 *   fences every older one, so a deposed leader can no longer commit (leadership.ts keeps the
 *   database side: a lost session changes no relay state);
 * - each send is one transaction whose records carry their row ids; rows are marked sent only after
 *   the commit is acknowledged (pipeline.ts);
 * - after any failure and on every takeover, a new producer session is opened and the partitions are
 *   read back from the recorded offsets: exactly the rows whose ids are found are marked sent, the
 *   others are sent again (recovery.ts).
 *
 * Wakes on LISTEN `outbox` (the inserting statement NOTIFYs at commit) with a polling fallback.
 */
import type { Logger, Registry } from '@vehicles/platform'
import type { Database, Listener } from '../db/database'
import { isUnavailable } from '../db/errors'
import { OUTBOX_CHANNEL } from './enqueue'
import { createLeadership, LeadershipLost } from './leadership'
import { relayMetrics } from './metrics'
import { createPipeline, SendFailed } from './pipeline'
import type { Publisher } from './publisher'
import { recover } from './recovery'
import { relayStatements } from './statements'
import { createWaker } from './waker'

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
  /** At most this many rows read ahead, so in one transaction (default 2 000, at least `batchSize`). */
  maxSendRows?: number
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

/**
 * Upper bound of the rows read ahead (hence of one transaction and one mark). Measured on the 2-core
 * stack (bench/relay): transactions of about 2 000 records beat smaller ones (a transaction, a read and
 * a mark each cost round trips of about the same duration whatever their size) and larger ones (the
 * mark of 4 000 rows took 4 times as long as that of 2 000; the pipeline runs at its slowest stage).
 */
const MAX_SEND_ROWS = 2_000

class ClusterNotWritable extends Error {
  override readonly name = 'ClusterNotWritable'
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

export function createRelay(options: RelayOptions): Relay {
  const { db, publisher, logger } = options
  const metrics = relayMetrics(options.registry)
  const statements = relayStatements(options.keepSentRows ?? true)
  let state: RelayState = 'starting'
  let started = false
  let stopping = false
  let flushDeadline = Number.POSITIVE_INFINITY
  /** A producer session is open (its init done) and has not failed. */
  let connected = false
  /** Pending rows may be on the topic already: recover before sending anything. */
  let doubt = true
  let failures = 0
  let lastError: string | undefined
  let lastSentAt: string | undefined
  let sent = 0
  let listener: Listener | undefined
  let loop: Promise<void> = Promise.resolve()
  let onStop: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    onStop = resolve
  })

  const leadership = createLeadership(db, logger, (leading) => {
    metrics.leader.set(leading ? 1 : 0)
    // A takeover: whatever the previous leader left is in doubt until read back.
    if (leading) doubt = true
  })
  const counted = (rows: number) => {
    sent += rows
    metrics.sentTotal.inc(rows)
    if (rows > 0) lastSentAt = new Date().toISOString()
  }
  const pipeline = createPipeline({
    db,
    publisher,
    statements,
    leadership,
    logger,
    metrics,
    batchSize: options.batchSize,
    readAhead: Math.max(1, options.concurrency ?? 2),
    maxSendRows: Math.max(options.batchSize, options.maxSendRows ?? MAX_SEND_ROWS),
    outOfTime: () => stopping && Date.now() > flushDeadline,
    onSending: () => {
      state = 'sending'
    },
    onMarked: counted,
  })

  const waker = createWaker(() => stopping)
  const { wake } = waker

  const backoffMs = (n: number) => {
    const exp = Math.min(options.backoffMaxMs, options.backoffMinMs * 2 ** Math.min(n - 1, 20))
    return Math.round(exp / 2 + (Math.random() * exp) / 2)
  }

  /**
   * A new producer session, then the read-back. The session comes first: its init is what makes the
   * read-back final (recovery.ts). No other wait is needed, on a takeover either.
   */
  async function recoverNow(): Promise<void> {
    state = 'recovering'
    connected = false
    await publisher.close().catch(() => {})
    await publisher.start()
    connected = true
    pipeline.forgetTopics()
    const { pid } = leadership.session()
    const outcome = await recover(db, pid, publisher, statements)
    metrics.foundRows.inc(outcome.found)
    counted(outcome.found)
    // Logged on every recovery (a takeover too): what the read-back found is the story of a failure.
    const level = outcome.found > 0 ? 'warn' : 'info'
    logger[level]('outbox.relay.recovered_rows', 'read back after a failure or a takeover', { ...outcome })
    doubt = false
  }

  /** One round: lead (or stand by), recover when in doubt, send until caught up. */
  async function round(once: boolean): Promise<number> {
    if (!(await leadership.acquire())) {
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
    if (doubt || !connected) await recoverNow()
    return await pipeline.pump(once)
  }

  /** What a failed round leaves behind: always doubt; a lost or broken session is given up. */
  async function afterFailure(error: unknown): Promise<string> {
    doubt = true
    const stage =
      error instanceof ClusterNotWritable
        ? 'cluster'
        : error instanceof SendFailed
          ? 'send'
          : error instanceof LeadershipLost
            ? 'leadership'
            : !connected && !isUnavailable(error)
              ? 'connect'
              : 'database'
    if (stage === 'leadership' || stage === 'database') await leadership.resign()
    return stage
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        const handled = await round(false)
        if (failures > 0 && state !== 'standby')
          logger.info('outbox.relay.recovered', `relay sending again after ${failures} failed attempt(s)`)
        if (state !== 'standby') {
          failures = 0
          lastError = undefined
          metrics.backingOff.set(0)
          state = 'idle'
        }
        if (handled === 0 || state === 'standby') await waker.sleep(options.pollIntervalMs)
      } catch (error) {
        failures += 1
        lastError = message(error)
        state = 'backing_off'
        metrics.backingOff.set(1)
        metrics.errorsTotal.inc({ stage: await afterFailure(error) })
        const wait = backoffMs(failures)
        // Every failure while it is new, then one line in ten: the outbox keeps filling, the log should not.
        if (failures <= 3 || failures % 10 === 0)
          logger.warn('outbox.relay.backoff', `relay cannot send; outbox rows wait (retry in ${wait} ms)`, {
            attempt: failures,
            error: lastError,
          })
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
      if (leadership.leading && connected && failures === 0 && !doubt) {
        try {
          await pipeline.pump(false)
        } catch (error) {
          logger.warn('outbox.relay.flush_failed', 'pending rows stay in the outbox for the next start', {
            error,
          })
        }
      }
      await listener?.unlisten().catch(() => {})
      await publisher.close().catch(() => {})
      await leadership.resign()
      state = 'stopped'
    },
    status: () => ({
      state,
      leader: leadership.leading,
      consecutiveFailures: failures,
      ...(lastError !== undefined ? { lastError } : {}),
      ...(lastSentAt !== undefined ? { lastSentAt } : {}),
      sent,
      listening: listener !== undefined,
    }),
  }
}

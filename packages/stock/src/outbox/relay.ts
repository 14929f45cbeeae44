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
import type { Listener } from '../db/database'
import { isUnavailable } from '../db/errors'
import { OUTBOX_CHANNEL } from './enqueue'
import { createLeadership, type Leadership, LeadershipLost } from './leadership'
import { type RelayMetrics, relayMetrics } from './metrics'
import { Pipeline, SendFailed } from './pipeline'
import { recover } from './recovery'
import type { Relay, RelayOptions, RelayState, RelayStatus } from './relay-types'
import { type RelayStatements, relayStatements } from './statements'
import { createWaker } from './waker'

export type { Relay, RelayOptions, RelayState, RelayStatus } from './relay-types'

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

/** The loop and its state; `createRelay` hands out its `Relay` face. */
class RelayLoop implements Relay {
  private readonly metrics: RelayMetrics
  private readonly statements: RelayStatements
  private readonly leadership: Leadership
  private readonly pipeline: Pipeline
  private readonly waker = createWaker(() => this.stopping)
  private state: RelayState = 'starting'
  private started = false
  private stopping = false
  private flushDeadline = Number.POSITIVE_INFINITY
  /** A producer session is open (its init done) and has not failed. */
  private connected = false
  /** Pending rows may be on the topic already: recover before sending anything. */
  private doubt = true
  private failures = 0
  private lastError: string | undefined
  private lastSentAt: string | undefined
  private sent = 0
  private listener: Listener | undefined
  private loop: Promise<void> = Promise.resolve()
  private onStop: () => void = () => {}
  private readonly stopped = new Promise<void>((resolve) => {
    this.onStop = resolve
  })

  constructor(private readonly options: RelayOptions) {
    this.metrics = relayMetrics(options.registry)
    this.statements = relayStatements(options.keepSentRows ?? true)
    this.leadership = createLeadership(options.db, options.logger, (leading) => {
      this.metrics.leader.set(leading ? 1 : 0)
      // A takeover: whatever the previous leader left is in doubt until read back.
      if (leading) this.doubt = true
    })
    this.pipeline = new Pipeline({
      db: options.db,
      publisher: options.publisher,
      statements: this.statements,
      leadership: this.leadership,
      logger: options.logger,
      metrics: this.metrics,
      batchSize: options.batchSize,
      readAhead: Math.max(1, options.concurrency ?? 2),
      maxSendRows: Math.max(options.batchSize, options.maxSendRows ?? MAX_SEND_ROWS),
      outOfTime: () => this.stopping && Date.now() > this.flushDeadline,
      onSending: () => {
        this.state = 'sending'
      },
      onMarked: (rows) => this.counted(rows),
    })
  }

  private counted(rows: number): void {
    this.sent += rows
    this.metrics.sentTotal.inc(rows)
    if (rows > 0) this.lastSentAt = new Date().toISOString()
  }

  private backoffMs(n: number): number {
    const { backoffMinMs, backoffMaxMs } = this.options
    const exp = Math.min(backoffMaxMs, backoffMinMs * 2 ** Math.min(n - 1, 20))
    return Math.round(exp / 2 + (Math.random() * exp) / 2)
  }

  /**
   * A new producer session, then the read-back. The session comes first: its init is what makes the
   * read-back final (recovery.ts). No other wait is needed, on a takeover either.
   */
  private async recoverNow(): Promise<void> {
    const { publisher, logger, db } = this.options
    this.state = 'recovering'
    this.connected = false
    await publisher.close().catch(() => {})
    await publisher.start()
    this.connected = true
    this.pipeline.forgetTopics()
    const outcome = await recover(db, this.leadership.session().pid, publisher, this.statements)
    this.metrics.foundRows.inc(outcome.found)
    this.counted(outcome.found)
    // Logged on every recovery (a takeover too): what the read-back found is the story of a failure.
    const level = outcome.found > 0 ? 'warn' : 'info'
    logger[level]('outbox.relay.recovered_rows', 'read back after a failure or a takeover', { ...outcome })
    this.doubt = false
  }

  /** One round: lead (or stand by), recover when in doubt, send until caught up. */
  private async round(once: boolean): Promise<number> {
    const { publisher } = this.options
    if (!(await this.leadership.acquire())) {
      this.state = 'standby'
      return 0
    }
    // After a failure, resume only into a cluster that can take the write (see Publisher.writable).
    if (this.failures > 0 && publisher.writable !== undefined) {
      try {
        await publisher.writable()
      } catch (error) {
        throw new ClusterNotWritable(message(error))
      }
    }
    if (this.doubt || !this.connected) await this.recoverNow()
    return await this.pipeline.pump(once)
  }

  /** What a failed round leaves behind: always doubt; a lost or broken session is given up. */
  private async afterFailure(error: unknown): Promise<string> {
    this.doubt = true
    const stage =
      error instanceof ClusterNotWritable
        ? 'cluster'
        : error instanceof SendFailed
          ? 'send'
          : error instanceof LeadershipLost
            ? 'leadership'
            : !this.connected && !isUnavailable(error)
              ? 'connect'
              : 'database'
    if (stage === 'leadership' || stage === 'database') await this.leadership.resign()
    return stage
  }

  private succeeded(handled: number): boolean {
    if (this.state === 'standby') return false
    if (this.failures > 0)
      this.options.logger.info(
        'outbox.relay.recovered',
        `relay sending again after ${this.failures} failed attempt(s)`,
      )
    this.failures = 0
    this.lastError = undefined
    this.metrics.backingOff.set(0)
    this.state = 'idle'
    return handled > 0
  }

  private async failed(error: unknown): Promise<void> {
    this.failures += 1
    this.lastError = message(error)
    this.state = 'backing_off'
    this.metrics.backingOff.set(1)
    this.metrics.errorsTotal.inc({ stage: await this.afterFailure(error) })
    const wait = this.backoffMs(this.failures)
    // Every failure while it is new, then one line in ten: the outbox keeps filling, the log should not.
    if (this.failures <= 3 || this.failures % 10 === 0)
      this.options.logger.warn(
        'outbox.relay.backoff',
        `relay cannot send; outbox rows wait (retry in ${wait} ms)`,
        {
          attempt: this.failures,
          error: this.lastError,
        },
      )
    // Only stop() cuts a back-off short: NOTIFYs keep coming while Kafka is away.
    if (!this.stopping) await Promise.race([Bun.sleep(wait), this.stopped])
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const more = this.succeeded(await this.round(false))
        if (!more) await this.waker.sleep(this.options.pollIntervalMs)
      } catch (error) {
        await this.failed(error)
      }
    }
  }

  private async listen(): Promise<void> {
    const { db, logger, pollIntervalMs } = this.options
    while (!this.stopping && this.listener === undefined) {
      try {
        this.listener = await db.listen(OUTBOX_CHANNEL, () => this.waker.wake())
        logger.debug('outbox.relay.listening', `listening on ${OUTBOX_CHANNEL}`)
      } catch (error) {
        logger.warn('outbox.relay.listen_failed', 'cannot LISTEN yet; polling meanwhile', { error })
        await Bun.sleep(Math.max(pollIntervalMs, 1_000) * 5)
      }
    }
  }

  start(): void {
    if (this.started) return
    this.started = true
    void this.listen()
    this.loop = this.run()
  }

  wake(): void {
    this.waker.wake()
  }

  async runOnce(): Promise<number> {
    try {
      return await this.round(true)
    } catch (error) {
      await this.afterFailure(error)
      throw error
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.flushDeadline = Date.now() + (this.options.flushTimeoutMs ?? 5_000)
    this.stopping = true
    this.onStop()
    this.waker.wake()
    await this.loop
    // Flush: what is pending goes out now if Kafka answers, within the flush budget.
    if (this.leadership.leading && this.connected && this.failures === 0 && !this.doubt) {
      try {
        await this.pipeline.pump(false)
      } catch (error) {
        this.options.logger.warn(
          'outbox.relay.flush_failed',
          'pending rows stay in the outbox for the next start',
          {
            error,
          },
        )
      }
    }
    await this.listener?.unlisten().catch(() => {})
    await this.options.publisher.close().catch(() => {})
    await this.leadership.resign()
    this.state = 'stopped'
  }

  status(): RelayStatus {
    return {
      state: this.state,
      leader: this.leadership.leading,
      consecutiveFailures: this.failures,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastSentAt !== undefined ? { lastSentAt: this.lastSentAt } : {}),
      sent: this.sent,
      listening: this.listener !== undefined,
    }
  }
}

export function createRelay(options: RelayOptions): Relay {
  return new RelayLoop(options)
}

import { type KafkaError, KafkaFencedError, KafkaUnavailableError, KafkaUsageError } from '../errors'
import type {
  DeliveryReport,
  Producer,
  ProducerOptions,
  ProducerRecord,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../types'
import { SLICE_MS } from './blocking'
import { rd } from './library'
import { cstringIn, ERR, kafkaErrorOf, type NativeError, takeError, toKafkaError } from './native'
import { createProduceCore, DEFAULT_DELIVERY_TIMEOUT_MS, validateRecords } from './produce'

const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000
/** Pause before calling again after a retriable refusal (a timed-out slice is resumed at once). */
const RETRY_PAUSE_MS = 100

/** Idempotent producer (acks=all, 5 in flight, murmur2_random) over librdkafka. */
export function createRdProducer(options: ProducerOptions): Producer {
  if (options.brokers.length === 0) throw new KafkaUsageError('createProducer: brokers is empty')
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const core = createProduceCore(options, {})
  let disconnected = false
  return {
    async connect() {
      if (disconnected) throw new KafkaUsageError('producer is disconnected')
      await core.ping()
    },
    async send(records) {
      if (disconnected) throw new KafkaUsageError('producer is disconnected')
      return core.produce(records)
    },
    ping: () => core.ping(),
    async disconnect() {
      if (disconnected) return
      disconnected = true
      // What callers still await gets its answer (delivery or timeout) before the handle goes.
      await core.drain(deliveryTimeoutMs)
      await core.close()
    },
  }
}

/** The steps of librdkafka's transactions, for `sendTransaction` and for tests that leave one open. */
export interface TransactionSession {
  init(): Promise<void>
  begin(): void
  produce(records: readonly ProducerRecord[]): Promise<DeliveryReport[]>
  /** Resolves once the records are queued, with the promise of their reports (see ProduceCore). */
  enqueue(records: readonly ProducerRecord[]): Promise<{ delivered: Promise<DeliveryReport[]> }>
  commit(): Promise<void>
  abort(): Promise<void>
  /** Set once a newer producer with the same id fenced this one. */
  readonly fenced: KafkaFencedError | undefined
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * librdkafka's transaction calls block until the coordinator answers, so they run on the handle's
 * blocking worker (blocking.ts), in slices of SLICE_MS resumed until `deliveryTimeoutMs` is spent: a
 * session that hangs (a coordinator that never answers) holds only its own worker, gives up at its
 * deadline, and a `close` meanwhile waits one slice at most. `begin_transaction` is local and runs here.
 */
export function createTransactionSession(options: TransactionalProducerOptions): TransactionSession {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const transactionTimeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS
  const core = createProduceCore(options, {
    'transactional.id': options.transactionalId,
    'transaction.timeout.ms': String(transactionTimeoutMs),
    // librdkafka requires the delivery timeout to fit in the transaction's.
    'message.timeout.ms': String(Math.min(deliveryTimeoutMs, transactionTimeoutMs)),
  })
  const lib = rd()
  const handle = core.client.handle
  let fenced: KafkaFencedError | undefined

  /** A failed transaction call as the module's error; fatal ones (fencing above all) stick. */
  function failure(error: NativeError, context: string): KafkaError {
    if (error.fatal) {
      const errstr = Buffer.alloc(512)
      const code = lib.rd_kafka_fatal_error(handle, errstr, errstr.length)
      const typed = kafkaErrorOf(code || error.code, context, cstringIn(errstr) || error.message, {
        fatal: true,
      })
      if (typed instanceof KafkaFencedError) fenced = typed
      return fenced ?? typed
    }
    return toKafkaError(error, context)
  }

  let closed = false
  async function call(op: 'init_transactions' | 'commit_transaction' | 'abort_transaction', context: string) {
    const deadline = Date.now() + deliveryTimeoutMs
    for (;;) {
      if (closed) throw new KafkaUnavailableError(`${context}: the producer was closed meanwhile`)
      const slice = Math.max(1, Math.min(SLICE_MS, deadline - Date.now()))
      const error = takeError(await core.client.blocking.run(op, slice))
      if (error === null) return
      // librdkafka's contract: a retriable error (its slice timed out, or the coordinator is still
      // finishing an earlier transaction of the id: CONCURRENT_TRANSACTIONS) is answered by calling
      // again, which resumes the same operation.
      const resumable = error.retriable && !error.fatal && !error.txnRequiresAbort
      if (!resumable || Date.now() >= deadline) throw failure(error, context)
      if (error.code !== ERR.TIMED_OUT) await Bun.sleep(RETRY_PAUSE_MS)
    }
  }

  return {
    init: () => call('init_transactions', `init transactions of ${options.transactionalId}`),
    begin() {
      if (fenced !== undefined) throw fenced
      const begun = takeError(lib.rd_kafka_begin_transaction(handle))
      if (begun !== null) throw failure(begun, 'begin transaction')
    },
    produce: (records) => core.produce(records),
    enqueue: (records) => core.enqueue(records),
    commit: () => call('commit_transaction', 'commit transaction'),
    abort: () => call('abort_transaction', 'abort transaction'),
    get fenced() {
      return fenced
    },
    ping: () => core.ping(),
    close() {
      closed = true
      return core.close()
    },
  }
}

/** The ids of a rotation: the plain id alone, or `${id}-0` … `${id}-${n - 1}`. */
export function rotationIds(transactionalId: string, rotation = 1): string[] {
  if (!Number.isInteger(rotation) || rotation < 1 || rotation > 16)
    throw new KafkaUsageError(`rotation must be a whole number in 1..16, got ${rotation}`)
  if (rotation === 1) return [transactionalId]
  return Array.from({ length: rotation }, (_, k) => `${transactionalId}-${k}`)
}

async function abortQuietly(session: TransactionSession): Promise<void> {
  try {
    await session.abort()
  } catch {
    // Fencing is remembered by the session; anything else leaves the next begin to report the state.
  }
}

/** Begin, produce, commit on `session`; aborted on failure, the fencing error first if it was fenced. */
async function runTransaction(
  session: TransactionSession,
  records: readonly ProducerRecord[],
): Promise<DeliveryReport[]> {
  session.begin()
  let delivered: Promise<DeliveryReport[]>
  try {
    ;({ delivered } = await session.enqueue(records))
  } catch (error) {
    await abortQuietly(session)
    throw session.fenced ?? error
  }
  // Awaited after the commit; observed now, so a failed record is not an unhandled rejection meanwhile.
  delivered.catch(() => {})
  try {
    // Committing as soon as everything is queued: commit_transaction flushes (sends at once, without
    // the linger.ms wait that awaiting the reports first would cost every transaction) and fails if any
    // record failed, so a commit that succeeds means every record was delivered.
    await session.commit()
  } catch (error) {
    if (session.fenced === undefined) await abortQuietly(session)
    throw session.fenced ?? error
  }
  return await delivered
}

/**
 * Transactional producer: one transaction per `sendTransaction`, serialised, each on the next session of
 * the rotation. Why a rotation keeps exactly once: transactions still go one at a time (the next begins
 * after the previous commit is acknowledged), so records keep their send order on every partition and no
 * two of ours are open at once; and `connect` initialises every id, so a newer writer fences all of an
 * older writer's sessions, as with one id. A fenced session makes the whole producer fenced: a newer
 * writer holds at least one of the ids and is initialising the others.
 */
export function createRdTransactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
  if (options.brokers.length === 0) throw new KafkaUsageError('createTransactionalProducer: brokers is empty')
  if (options.transactionalId.length === 0) throw new KafkaUsageError('transactionalId is empty')
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const ids = rotationIds(options.transactionalId, options.rotation)
  const sessions = ids.map((transactionalId, k) =>
    createTransactionSession({
      ...options,
      transactionalId,
      clientId: ids.length === 1 ? options.clientId : `${options.clientId}-${k}`,
    }),
  )
  let turn = 0
  let connected = false
  let disconnected = false
  /** One transaction at a time: each call waits for the previous one to settle. */
  let tail: Promise<unknown> = Promise.resolve()
  const fencedAny = () => sessions.find((s) => s.fenced !== undefined)?.fenced

  async function transaction(records: readonly ProducerRecord[]): Promise<DeliveryReport[]> {
    const fenced = fencedAny()
    if (fenced !== undefined) throw fenced
    const session = sessions[turn % sessions.length] as TransactionSession
    turn += 1
    return runTransaction(session, records)
  }

  return {
    async connect() {
      if (disconnected) throw new KafkaUsageError('producer is disconnected')
      if (connected) return
      // Every id before the first transaction: an older writer's open transaction on any of them is
      // ended and its session fenced. One after the other, so the sessions share one blocking worker
      // (blocking.ts) instead of starting one each.
      for (const session of sessions) await session.init()
      connected = true
    },
    sendTransaction(records) {
      if (disconnected) return Promise.reject(new KafkaUsageError('producer is disconnected'))
      if (!connected) return Promise.reject(new KafkaUsageError('sendTransaction before connect'))
      try {
        validateRecords(records)
      } catch (error) {
        return Promise.reject(error)
      }
      const run = tail.then(() => transaction(records))
      tail = run.catch(() => undefined)
      return run
    },
    ping: () => (sessions[0] as TransactionSession).ping(),
    async disconnect() {
      if (disconnected) return
      disconnected = true
      await Promise.race([tail, Bun.sleep(deliveryTimeoutMs)])
      await Promise.all(sessions.map((s) => s.close()))
    },
  }
}
